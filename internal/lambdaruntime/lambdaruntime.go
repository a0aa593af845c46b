// Package lambdaruntime is a stand-in of the AWS Lambda runtime API
// (/2018-06-01/runtime/...) for running a function's process on this machine:
// it hands the process one invocation at a time, as Lambda hands a sandbox, and
// returns what the process answered. A Server serves one process; start one per
// concurrent sandbox.
package lambdaruntime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const base = "/2018-06-01/runtime/"

// ErrInit is wrapped by Invoke's error when the process reported an init error.
var ErrInit = errors.New("the function failed to initialise")

// ErrTimeout is Invoke's error when the process did not answer within the timeout.
var ErrTimeout = errors.New("the function did not answer within its timeout")

// Response is what the process answered to one invocation.
type Response struct {
	// Body is the function's result (invocation/<id>/response), or, when
	// FunctionError is true, the error it reported (invocation/<id>/error).
	Body          []byte
	FunctionError bool
}

// Server is a runtime API on a loopback port.
type Server struct {
	// Function is the ARN the process sees as its invoked function.
	Function string

	addr    string
	srv     *http.Server
	next    chan *invocation
	initErr chan []byte

	mu      sync.Mutex
	pending map[string]*invocation
}

type invocation struct {
	id      string
	event   []byte
	timeout time.Duration
	// picked receives the deadline when the process takes the invocation.
	picked chan time.Time
	done   chan Response
}

// New starts a Server on a free loopback port.
func New(function string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API stand-in: %w", err)
	}
	s := &Server{
		Function: function, addr: l.Addr().String(),
		next: make(chan *invocation), initErr: make(chan []byte, 1), pending: map[string]*invocation{},
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Addr is the value of AWS_LAMBDA_RUNTIME_API for the process (host:port).
func (s *Server) Addr() string { return s.addr }

// Close stops serving; requests in progress end.
func (s *Server) Close() { _ = s.srv.Close() }

// Invoke hands event to the process when it next asks for one and waits for its answer for at
// most timeout from then (the invocation's deadline; the time the process takes to ask, its
// init, is not counted, as on Lambda). It returns ErrTimeout when that passes, ctx's error when
// ctx ends first (the caller stops the process in both cases), and an error wrapping ErrInit when
// the process reports that it failed to start.
func (s *Server) Invoke(ctx context.Context, event []byte, timeout time.Duration) (Response, error) {
	inv := &invocation{id: newID(), event: event, timeout: timeout, picked: make(chan time.Time, 1), done: make(chan Response, 1)}
	s.mu.Lock()
	s.pending[inv.id] = inv
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, inv.id)
		s.mu.Unlock()
	}()
	select {
	case s.next <- inv:
	case body := <-s.initErr:
		return Response{}, fmt.Errorf("%w: %s", ErrInit, body)
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
	timer := time.NewTimer(time.Until(<-inv.picked))
	defer timer.Stop()
	select {
	case r := <-inv.done:
		return r, nil
	case body := <-s.initErr:
		return Response{}, fmt.Errorf("%w: %s", ErrInit, body)
	case <-timer.C:
		return Response{}, ErrTimeout
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 6<<20)) // Lambda's payload limit
	path := strings.TrimPrefix(r.URL.Path, base)
	switch {
	case r.Method == http.MethodGet && path == "invocation/next":
		select {
		case inv := <-s.next:
			deadline := time.Now().Add(inv.timeout)
			inv.picked <- deadline
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", s.Function)
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(inv.event)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost && path == "init/error":
		select {
		case s.initErr <- body:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		s.mu.Lock()
		inv := s.pending[id]
		s.mu.Unlock()
		if inv == nil || (kind != "response" && kind != "error") {
			http.Error(w, `{"errorMessage":"unknown invocation","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		select {
		case inv.done <- Response{Body: body, FunctionError: kind == "error"}:
			w.WriteHeader(http.StatusAccepted)
		default: // answered twice
			http.Error(w, `{"errorMessage":"invocation already answered","errorType":"InvalidStateTransition"}`, http.StatusForbidden)
		}
	default:
		http.NotFound(w, r)
	}
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
