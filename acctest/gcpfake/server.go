package gcpfake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Defaults of Options.
const (
	DefaultProject         = "fake-project"
	DefaultProjectNumber   = int64(123456789012)
	DefaultOperationDelay  = 200 * time.Millisecond
	DefaultMaxFieldConfigs = 1000
)

// InvokeFunc serves a request sent to a deployed function's URI. fn is a copy of the function and
// zip the source it was deployed from.
type InvokeFunc func(fn *functionspb.Function, zip []byte, w http.ResponseWriter, r *http.Request)

// BuildFunc plays Cloud Build for a create or update: a non-nil error fails the deployment with
// that message, as a failed build does.
type BuildFunc func(fn *functionspb.Function, zip []byte) error

// Options configure a Server; the zero value is usable.
type Options struct {
	// Project and ProjectNumber name the one project the fakes serve (DefaultProject,
	// DefaultProjectNumber). Other projects answer PERMISSION_DENIED, as a project the caller cannot
	// see does.
	Project       string
	ProjectNumber int64
	// OperationDelay is how long a long-running operation runs before it is done
	// (DefaultOperationDelay); a negative value makes operations finish at the next call.
	OperationDelay time.Duration
	// Runtimes lists the Cloud Functions runtimes accepted (DefaultRuntimes).
	Runtimes []string
	// Invoke serves requests to function URIs; nil answers 200 with an empty body.
	Invoke InvokeFunc
	// Build checks an uploaded source when a function is deployed; nil requires a readable, non-empty
	// zip archive. It runs under the server's lock: it must not call the Server.
	Build BuildFunc
	// ProjectBindings is the project's IAM policy at start and after Reset (for example the
	// deployer's roles/owner). Leftovers does not report these bindings.
	ProjectBindings []*iampb.Binding
	// MaxFieldConfigs caps the Firestore field configurations of one database
	// (DefaultMaxFieldConfigs): one more answers RESOURCE_EXHAUSTED.
	MaxFieldConfigs int
	// IAMResource, when set, is asked by the generic google.iam.v1.IAMPolicy service whether a
	// resource exists: an error (a gRPC status, NOT_FOUND for example) is returned to the caller.
	// It is called without the server's lock.
	IAMResource func(resource string) error
	// DatabaseDeleted, when set, is told the name of each Firestore database DeleteDatabase deletes,
	// before the call returns, so that a test can delete its documents where they are kept (the
	// Firestore emulator), as Google deletes them with the database. It is called without the
	// server's lock.
	DatabaseDeleted func(name string)
}

// Server runs every fake on one gRPC listener and an HTTP listener for upload URLs and function URIs,
// both on 127.0.0.1.
type Server struct {
	opts    Options
	grpcSrv *grpc.Server
	grpcLis net.Listener
	httpSrv *http.Server
	httpURL string

	mu sync.Mutex
	st *state
	// invoke is the current InvokeFunc (Options.Invoke, or SetInvoke's).
	invoke      InvokeFunc
	invocations []Invocation
	faults      []*Fault
	calls       map[string]int
	log         []string
	seq         int64
}

// Start runs the fakes on free loopback ports.
func Start(ctx context.Context, opts Options) (*Server, error) {
	return Listen(ctx, "127.0.0.1:0", "127.0.0.1:0", opts)
}

// Listen runs the fakes with the gRPC services on grpcAddr and the HTTP endpoints (upload URLs and
// function URIs) on httpAddr; ":0" ports pick free ones.
func Listen(_ context.Context, grpcAddr, httpAddr string, opts Options) (*Server, error) {
	if opts.Project == "" {
		opts.Project = DefaultProject
	}
	if opts.ProjectNumber == 0 {
		opts.ProjectNumber = DefaultProjectNumber
	}
	if opts.OperationDelay == 0 {
		opts.OperationDelay = DefaultOperationDelay
	}
	if opts.Runtimes == nil {
		opts.Runtimes = DefaultRuntimes
	}
	if opts.MaxFieldConfigs == 0 {
		opts.MaxFieldConfigs = DefaultMaxFieldConfigs
	}
	if !projectIDPattern.MatchString(opts.Project) {
		return nil, fmt.Errorf("project id %q: want 6-30 lowercase letters, digits or hyphens, starting with a letter", opts.Project)
	}
	gl, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp", httpAddr)
	if err != nil {
		_ = gl.Close()
		return nil, err
	}
	s := &Server{opts: opts, grpcLis: gl, httpURL: "http://" + hl.Addr().String(), invoke: opts.Invoke}
	s.reset()
	s.grpcSrv = grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	s.register(s.grpcSrv)
	s.httpSrv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.grpcSrv.Serve(gl) }()
	go func() { _ = s.httpSrv.Serve(hl) }()
	return s, nil
}

// Require starts a Server for t with opts and closes it when t ends.
func Require(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Addr is the gRPC address (host:port): the endpoint of every Google client.
func (s *Server) Addr() string { return s.grpcLis.Addr().String() }

// Services are the full names of the gRPC services the fakes serve ("google.iam.v1.IAMPolicy"),
// sorted: what a proxy in front of them and an emulator routes to them.
func (s *Server) Services() []string {
	return slices.Sorted(maps.Keys(s.grpcSrv.GetServiceInfo()))
}

// HTTPURL is the base URL of the upload URLs and function URIs.
func (s *Server) HTTPURL() string { return s.httpURL }

// Project and ProjectNumber are the project the fakes serve.
func (s *Server) Project() string { return s.opts.Project }

// ProjectNumber is the number of the project the fakes serve.
func (s *Server) ProjectNumber() int64 { return s.opts.ProjectNumber }

// ClientOptions reach the fakes from an official Google client with no credentials.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(s.Addr()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// Close stops both listeners at once; calls in flight fail.
func (s *Server) Close() {
	s.grpcSrv.Stop()
	_ = s.httpSrv.Close()
}

// Reset forgets every resource, operation, upload, invocation, fault and call count, and restores
// the project's initial policy. The InvokeFunc set by SetInvoke stays.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

func (s *Server) reset() {
	s.st = newState(s.opts)
	s.invocations, s.faults, s.calls, s.log = nil, nil, map[string]int{}, nil
}

// SetInvoke replaces the InvokeFunc (nil restores the default 200).
func (s *Server) SetInvoke(f InvokeFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invoke = f
}

// lock takes the server's lock and completes the operations that are due, so that every reader sees
// the state of now. Callers unlock.
func (s *Server) lock() {
	s.mu.Lock()
	s.settle(time.Now())
}

// next returns a number unique in this server's life.
func (s *Server) next() int64 {
	s.seq++
	return s.seq
}

// Leftovers lists every resource that exists, one "kind name" line each, sorted: functions, service
// accounts, Firestore databases, TTL fields, and IAM bindings ("binding resource role member", with
// " if title" for a conditional one) other than Options.ProjectBindings. Uploaded sources are not
// listed: the real upload bucket keeps them too, outside the provider's reach.
func (s *Server) Leftovers() []string {
	s.lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.st.functions {
		out = append(out, "function "+name)
	}
	for email := range s.st.accounts {
		out = append(out, "serviceAccount "+email)
	}
	for name := range s.st.databases {
		out = append(out, "database "+name)
	}
	for name, f := range s.st.fields {
		if f.GetTtlConfig() != nil {
			out = append(out, "ttl "+name)
		}
	}
	for res, p := range s.st.policies {
		for _, b := range p.policy.GetBindings() {
			for _, m := range b.GetMembers() {
				if res == s.projectResource() && initialBinding(s.opts.ProjectBindings, b, m) {
					continue
				}
				line := fmt.Sprintf("binding %s %s %s", res, b.GetRole(), m)
				if b.GetCondition() != nil {
					line += " if " + b.GetCondition().GetTitle()
				}
				out = append(out, line)
			}
		}
	}
	sort.Strings(out)
	return out
}

func initialBinding(initial []*iampb.Binding, b *iampb.Binding, member string) bool {
	for _, i := range initial {
		if i.GetRole() == b.GetRole() && sameCondition(i.GetCondition(), b.GetCondition()) && slices.Contains(i.GetMembers(), member) {
			return true
		}
	}
	return false
}

// Serve runs the fakes until ctx is done: the body of a standalone process (`threefactor fake gcp`).
// ready is called once both listeners accept.
func Serve(ctx context.Context, grpcAddr string, opts Options, ready func(*Server)) error {
	s, err := Listen(ctx, grpcAddr, "127.0.0.1:0", opts)
	if err != nil {
		return err
	}
	defer s.Close()
	if ready != nil {
		ready(s)
	}
	<-ctx.Done()
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}
