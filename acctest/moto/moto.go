// Package moto runs moto_server (an AWS emulator) on loopback for tests, behind a proxy that counts
// calls per service and action and fails chosen ones on demand.
package moto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Account is the account id moto gives every resource.
const Account = "123456789012"

// Credentials are the static dummy credentials tests use, so no SDK ever looks further (for example
// at the instance-metadata address).
var Credentials = credentials.NewStaticCredentialsProvider("test", "test", "")

// ErrNotInstalled is returned by Start when moto_server is not on PATH.
var ErrNotInstalled = errors.New("moto_server not found: pip install 'moto[server]'")

// Server is a running moto_server and the proxy in front of it.
type Server struct {
	// URL is the proxy's address: point every AWS client here.
	URL string
	// Direct is moto's own address, which bypasses counting and faults.
	Direct string

	cmd   *exec.Cmd
	proxy *proxy
}

// Start runs moto_server on a free loopback port and waits until it answers.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true")
	// Its own process group, and killed when the process that started it dies without closing it (a
	// panic, a -timeout, a SIGKILL of a test binary or of an emulator kit): no moto is left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	s := &Server{Direct: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\nmoto_server output:\n%s", err, out.String())
	}
	if s.proxy, err = newProxy(s.Direct); err != nil {
		s.stop()
		return nil, err
	}
	s.URL = s.proxy.url
	if err := s.Reset(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Require starts a server for t and closes it when t ends. Without moto_server it skips t, or fails
// it when CI=true, so CI never passes by skipping.
func Require(t testing.TB) *Server {
	t.Helper()
	s, err := Start(context.Background())
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the proxy and moto_server.
func (s *Server) Close() {
	if s.proxy != nil {
		s.proxy.close()
	}
	s.stop()
}

func (s *Server) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Reset empties every moto backend and clears the proxy's faults and counts. Lambda is configured
// not to use Docker (absent here): moto then consumes messages sent to a mapped queue at once.
func (s *Server) Reset() error {
	if err := s.post("/moto-api/reset", ""); err != nil {
		return err
	}
	if err := s.post("/moto-api/config", `{"lambda": {"use_docker": false}}`); err != nil {
		return err
	}
	s.proxy.reset()
	return nil
}

// Env is the environment a process (a provider under tofu) needs to reach this server with dummy
// credentials and no instance-metadata probing.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=" + s.URL,
	}
}

// Config returns an aws.Config for region that reaches this server through the proxy.
func (s *Server) Config(region string) aws.Config {
	return aws.Config{Region: region, Credentials: Credentials, BaseEndpoint: aws.String(s.URL), HTTPClient: http.DefaultClient}
}

// Fail makes the next times requests matching f fail; see Fault.
func (s *Server) Fail(f Fault) { s.proxy.addFault(f) }

// Calls returns the number of requests seen per "service:Action" since the last Reset or ResetCalls.
func (s *Server) Calls() map[string]int { return s.proxy.calls() }

// Requests returns "service:Action" of every request since the last Reset or ResetCalls, in the
// order the proxy received them.
func (s *Server) Requests() []string { return s.proxy.requests() }

// ResetCalls zeroes the counts and the request log.
func (s *Server) ResetCalls() { s.proxy.resetCalls() }

func (s *Server) post(path, body string) error {
	resp, err := http.Post(s.Direct+path, "application/json", bytes.NewBufferString(body))
	if err != nil {
		return fmt.Errorf("moto %s: %w", path, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("moto %s: %s", path, resp.Status)
	}
	return nil
}

// waitReady polls moto until it answers, with a short backoff, for at most 30 s.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	wait := 20 * time.Millisecond
	for {
		resp, err := http.Get(s.Direct + "/moto-api/data.json")
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("moto_server did not answer on %s: %w", s.Direct, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

func freePort() (int, error) {
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
