// Package emulator runs a test's emulator as a child of the test binary:
// on a free loopback port, so that it ends with the test binary, waited
// for until it answers, its output kept for the failure message, and
// stopped. What each emulator needs of its own (its command line,
// installs, certificates) stays in its launcher: internal/mototest,
// firestorestore/firestoretest and cosmosstore/cosmostest.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Options say how Start runs a command.
type Options struct {
	// Group starts the command in a process group of its own (on Unix),
	// so that killing it ends whatever it started too.
	Group bool
	// DieWithParent has the kernel kill the command (SIGKILL) when the
	// test binary dies without stopping it, a panic or a -timeout (Linux's
	// Pdeathsig; elsewhere it does nothing). Not for a command that must
	// end its own children first: use Lifeline.
	DieWithParent bool
	// Lifeline makes the command's stdin a pipe that this process holds:
	// the kernel closes it when this process ends, however it ends, and
	// the command is to exit (and end what it started) on EOF. Stop closes
	// it first and gives the command 5s to exit before killing it.
	Lifeline bool
	// Capture keeps what the command writes to its stdout and stderr
	// (those of the two the caller left unset) for Output.
	Capture bool
}

// Process is a command started by Start.
type Process struct {
	cmd      *exec.Cmd
	group    bool
	lifeline io.Closer
	out      *buffer
	exited   chan struct{}
}

// ErrExited is the error of Ready when the command exits before it
// answers. It reads "exited", to follow the emulator's name.
var ErrExited = errors.New("exited")

// stopGrace is how long Stop waits for a command to exit on its
// lifeline's EOF before killing it (a variable for the tests).
var stopGrace = 5 * time.Second

// Start starts cmd as o says, and reaps it when it exits.
func Start(cmd *exec.Cmd, o Options) (*Process, error) {
	setAttrs(cmd, o.Group, o.DieWithParent)
	p := &Process{cmd: cmd, group: o.Group, exited: make(chan struct{})}
	if o.Capture {
		p.out = &buffer{}
		if cmd.Stdout == nil {
			cmd.Stdout = p.out
		}
		if cmd.Stderr == nil {
			cmd.Stderr = p.out
		}
	}
	if o.Lifeline {
		w, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		p.lifeline = w
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Exited is closed once the command has exited and been reaped (with
// Capture, once whatever it started has closed its output too).
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Output is what the command has written so far, with Capture; else "".
func (p *Process) Output() string {
	if p.out == nil {
		return ""
	}
	return p.out.String()
}

// Ready calls ready every 50ms until it reports true, and returns nil; or
// ErrExited once the command has exited; or, after timeout, an error that
// reads "did not answer within <timeout>". Its errors read as predicates,
// to follow the emulator's name. ready's context ends at the deadline.
func (p *Process) Ready(timeout time.Duration, ready func(context.Context) bool) error {
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return ErrExited
		default:
		}
		if ready(ctx) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("did not answer within %s", seconds(timeout))
}

// seconds writes d as 60s rather than 1m0s.
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// Stop ends the command: with a lifeline, it closes it and returns once
// the command exits, or kills it after 5s; without, it kills it at once.
// With Group, a kill ends the command's whole process group.
func (p *Process) Stop() {
	if p.lifeline != nil {
		_ = p.lifeline.Close()
		select {
		case <-p.exited:
			return
		case <-time.After(stopGrace):
		}
	}
	if p.group {
		killGroup(p.cmd.Process)
		return
	}
	_ = p.cmd.Process.Kill()
}

// HTTPOK is a readiness check for Ready: a GET of url answers 200 OK.
func HTTPOK(url string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is not TCP", l.Addr())
	}
	return addr.Port, nil
}

// OnFreePort calls start with a free loopback port until it succeeds,
// three times at most (another process can take the port between the probe
// and the emulator's bind), and returns its last error.
func OnFreePort[T any](start func(port int) (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range 3 {
		port, perr := FreePort()
		if perr != nil {
			return v, perr
		}
		if v, err = start(port); err == nil {
			return v, nil
		}
	}
	return v, err
}

// buffer collects a command's output, written from exec's copying
// goroutines, for a failure message.
type buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
