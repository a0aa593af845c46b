// Package grpcproxy is a counting, fault-injecting gRPC proxy on loopback for tests: the gRPC
// counterpart of package moto's HTTP proxy, to put in front of the Google emulators (package gcloud)
// and the gRPC fakes.
//
// It forwards any method without knowing its types (an unknown-service handler with a raw-bytes
// codec): unary, server-streaming, client-streaming and bidirectional calls alike, with their
// metadata, deadlines, response headers, trailers and status. Each call goes to the backend of the
// longest Route prefix that its full method ("/google.pubsub.v1.Publisher/CreateTopic") starts
// with, or to the default backend:
//
//	p := grpcproxy.ForTest(t, pubsubEmulator.Host,
//		grpcproxy.Route{Prefix: "/google.iam.v1.IAMPolicy/", Target: fakes.Addr})
//	client, err := pubsub.NewClient(ctx, project, gcloud.ClientOptions(p.Addr)...)
//
// Calls counts calls (streams, not messages) per full method since the last ResetCalls, for exact
// refresh-cost figures; Requests lists them in order. Fail injects faults on the next calls that
// match a method (and optionally a substring of the first request message's bytes, such as a
// resource name): fail with a status, lose the response of a call that took effect, or delay.
//
// The proxy reads a call's first request message before it opens the call to the backend, so that a
// fault can match on it: every Google API client sends first, even on bidirectional streams (Pub/Sub
// StreamingPull, Firestore Listen and Write); a call whose server speaks first would hang.
//
// The official clients retry some codes on their own (Pub/Sub's CreateTopic retries UNAVAILABLE,
// its Publish also INTERNAL): a fault is spent by the first attempt and a retry then reaches the
// backend, and both are counted. Pass gax.WithRetry(nil) in a test that needs to see the raw fault.
package grpcproxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Route sends the calls whose full method starts with Prefix ("/google.iam.v1.IAMPolicy/") to the
// backend at Target ("127.0.0.1:port", plaintext gRPC).
type Route struct {
	Prefix string
	Target string
}

// Fault changes what the next matching calls get.
type Fault struct {
	// Method is a full method ("/google.pubsub.v1.Publisher/CreateTopic"), or a prefix ending in "/"
	// that matches a whole service ("/google.pubsub.v1.Publisher/"); empty matches every call.
	Method string
	// Match, when set, must occur in the bytes of the call's first request message: a resource name
	// or id, which the protobuf encoding carries verbatim.
	Match string
	// Times is how many matching calls the fault takes; 0 means one.
	Times int
	// Delay holds the call this long before anything else happens (the client's deadline still
	// applies). A fault with only a Delay then forwards the call as usual.
	Delay time.Duration
	// Code is the status the call fails with, without reaching the backend. It defaults to INTERNAL
	// unless Delay or LoseResponse is set.
	Code codes.Code
	// Message defaults to a note saying the proxy failed the call.
	Message string
	// LoseResponse forwards the call, lets it complete (it takes effect) and discards its response,
	// then fails it with UNAVAILABLE, as when a response is lost on the way back. Meant for unary and
	// server-streaming calls; a bidirectional call whose client waits for a response before it half-
	// closes hangs until its deadline.
	LoseResponse bool
}

// Proxy is a running proxy.
type Proxy struct {
	// Addr is the proxy's "127.0.0.1:port": point clients here.
	Addr string

	srv      *grpc.Server
	fallback *grpc.ClientConn
	routes   []route // longest prefix first

	mu     sync.Mutex
	faults []*Fault
	count  map[string]int
	log    []string
}

type route struct {
	prefix string
	conn   *grpc.ClientConn
}

// New starts a proxy on a free loopback port that forwards to target unless a route says otherwise.
func New(target string, routes ...Route) (*Proxy, error) {
	p := &Proxy{count: map[string]int{}}
	var err error
	if p.fallback, err = dial(target); err != nil {
		return nil, err
	}
	for _, r := range routes {
		conn, err := dial(r.Target)
		if err != nil {
			p.closeConns()
			return nil, err
		}
		p.routes = append(p.routes, route{r.Prefix, conn})
	}
	slices.SortStableFunc(p.routes, func(a, b route) int { return len(b.prefix) - len(a.prefix) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.closeConns()
		return nil, err
	}
	p.Addr = l.Addr().String()
	p.srv = grpc.NewServer(
		grpc.UnknownServiceHandler(p.handle),
		grpc.ForceServerCodec(rawCodec{}),
		grpc.MaxRecvMsgSize(math.MaxInt32),
	)
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// ForTest starts a proxy for t and closes it when t ends.
func ForTest(t testing.TB, target string, routes ...Route) *Proxy {
	t.Helper()
	p, err := New(target, routes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func dial(target string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient("passthrough:///"+target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)
	if err != nil {
		return nil, fmt.Errorf("grpcproxy: dialing %s: %w", target, err)
	}
	return conn, nil
}

// Close stops the proxy, ending the calls in flight, and its connections to the backends.
func (p *Proxy) Close() {
	p.srv.Stop()
	p.closeConns()
}

func (p *Proxy) closeConns() {
	if p.fallback != nil {
		_ = p.fallback.Close()
	}
	for _, r := range p.routes {
		_ = r.conn.Close()
	}
}

// Fail adds a fault; faults are tried in the order added, and a call takes at most one.
func (p *Proxy) Fail(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Code == codes.OK && f.Delay == 0 && !f.LoseResponse {
		f.Code = codes.Internal
	}
	if f.Message == "" {
		f.Message = fmt.Sprintf("%s failed by grpcproxy", cmp.Or(f.Method, "call"))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &f)
}

// Unspent returns the faults not yet used up, with the calls they still take in Times.
func (p *Proxy) Unspent() []Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Fault, 0, len(p.faults))
	for _, f := range p.faults {
		out = append(out, *f)
	}
	return out
}

// Calls returns the number of calls per full method since the last Reset or ResetCalls, failed and
// lost ones included.
func (p *Proxy) Calls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.count)
}

// Requests returns the full method of every call since the last Reset or ResetCalls, in the order the
// proxy received them.
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

// ResetCalls zeroes the counts and the request log.
func (p *Proxy) ResetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count, p.log = map[string]int{}, nil
}

// Reset drops the faults and zeroes the counts.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults, p.count, p.log = nil, map[string]int{}, nil
}

// take counts the call and returns the fault it triggers, if any.
func (p *Proxy) take(method string, first []byte) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count[method]++
	p.log = append(p.log, method)
	for i, f := range p.faults {
		if matchMethod(f.Method, method) && strings.Contains(string(first), f.Match) {
			if f.Times--; f.Times == 0 {
				p.faults = slices.Delete(p.faults, i, i+1)
			}
			return f
		}
	}
	return nil
}

func matchMethod(pattern, method string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(method, pattern)
	}
	return pattern == "" || pattern == method
}

func (p *Proxy) backend(method string) *grpc.ClientConn {
	for _, r := range p.routes {
		if strings.HasPrefix(method, r.prefix) {
			return r.conn
		}
	}
	return p.fallback
}

// errLost is what the client of a call whose response was lost sees.
var errLost = status.Error(codes.Unavailable, "grpcproxy lost the response (the call reached the backend)")

// handle forwards one call of any kind. It reads the client's first message before it dials, so that
// a fault can match on it: every Google API client sends first.
func (p *Proxy) handle(_ any, ss grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "grpcproxy: no method in the stream")
	}
	ctx := ss.Context()
	first := &frame{}
	firstErr := ss.RecvMsg(first)
	if firstErr != nil && !errors.Is(firstErr, io.EOF) {
		return firstErr
	}
	f := p.take(method, first.b)
	if f != nil && f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	if f != nil && f.Code != codes.OK && !f.LoseResponse {
		return status.Error(f.Code, f.Message)
	}
	lose := f != nil && f.LoseResponse

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	md, _ := metadata.FromIncomingContext(ctx)
	cs, err := p.backend(method).NewStream(metadata.NewOutgoingContext(ctx, forwardable(md)),
		&grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}
	// Client to backend. This goroutine may outlive the handler until the client's stream ends.
	go func() {
		if firstErr == nil {
			if cs.SendMsg(first) != nil {
				return // the backend ended the call: RecvMsg below reports how
			}
			for {
				m := &frame{}
				if err := ss.RecvMsg(m); err != nil {
					if !errors.Is(err, io.EOF) {
						cancel()
						return
					}
					break
				}
				if cs.SendMsg(m) != nil {
					return
				}
			}
		}
		_ = cs.CloseSend()
	}()
	// Backend to client.
	headerSent := false
	for {
		m := &frame{}
		err := cs.RecvMsg(m)
		if lose { // drain what the backend answers, then fail whatever it was
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return status.FromContextError(ctx.Err()).Err()
			}
			return errLost
		}
		if err != nil {
			if h, herr := cs.Header(); herr == nil && !headerSent {
				_ = ss.SetHeader(h)
			}
			ss.SetTrailer(cs.Trailer())
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if !headerSent {
			if h, herr := cs.Header(); herr == nil {
				_ = ss.SendHeader(h)
			}
			headerSent = true
		}
		if err := ss.SendMsg(m); err != nil {
			return err
		}
	}
}

// forwardable drops the metadata that belongs to one hop: pseudo-headers, content-type and the
// gRPC transport's own keys (the deadline travels in the context).
func forwardable(md metadata.MD) metadata.MD {
	out := metadata.MD{}
	for k, v := range md {
		if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") || k == "content-type" || k == "te" {
			continue
		}
		out[k] = v
	}
	return out
}

// frame is a message as its encoded bytes.
type frame struct{ b []byte }

// rawCodec passes frames through untouched. It is named "proto" so that the content type it sends,
// application/grpc+proto, is what every gRPC server accepts.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	f, ok := v.(*frame)
	if !ok {
		return nil, fmt.Errorf("grpcproxy: cannot marshal %T", v)
	}
	return f.b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return fmt.Errorf("grpcproxy: cannot unmarshal into %T", v)
	}
	f.b = slices.Clone(data)
	return nil
}

func (rawCodec) Name() string { return "proto" }
