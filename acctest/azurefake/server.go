package azurefake

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of Options.
const (
	DefaultSubscription         = "00000000-0000-0000-0000-00000000a2e0"
	DefaultResourceGroup        = "threefactor-test"
	DefaultTenant               = "00000000-0000-0000-0000-0000000071e1"
	DefaultLocation             = "westeurope"
	DefaultSCMSuffix            = "azurewebsites.net"
	DefaultPrincipalPropagation = 2 * time.Minute
	// unpolledGrace is how long after OperationDelay an operation nobody polls completes on its own.
	unpolledGrace = time.Second
)

// Options configure a Server; the zero value is usable.
type Options struct {
	// Subscriptions the fakes serve (DefaultSubscription). Others answer 404 SubscriptionNotFound.
	// Globally unique names (storage accounts, namespaces, Cosmos accounts, sites) are unique across
	// all of them.
	Subscriptions []string
	// ResourceGroups exist in every subscription (DefaultResourceGroup); resources in other groups
	// answer 404 ResourceGroupNotFound.
	ResourceGroups []string
	// Location of the resource groups (DefaultLocation).
	Location string
	// Tenant is the directory tenant of the token endpoint and of generated identities (DefaultTenant).
	Tenant string
	// ClientID and ClientSecret, when set, are the only client credentials the token endpoint accepts
	// (401 invalid_client otherwise); unset, any client id and secret get a token.
	ClientID     string
	ClientSecret string
	// SCMSuffix is the DNS suffix of the sites' host names (DefaultSCMSuffix): sites answer at
	// <name>.<suffix> and publish at <name>.scm.<suffix>.
	SCMSuffix string
	// OperationDelay is the least time a long-running operation runs; its first status read answers
	// InProgress whatever the delay. An operation nobody polls completes a second after the delay.
	OperationDelay time.Duration
	// RetryAfter is sent with every long-running answer and InProgress status: Retry-After in whole
	// seconds (0 by default, so the SDK waits PollUntilDoneOptions.Frequency) and, when positive,
	// retry-after-ms, which azcore prefers.
	RetryAfter time.Duration
	// PrincipalPropagation is how long after its creation a user-assigned identity's principal is
	// unknown to role assignments that do not say principalType ServicePrincipal
	// (DefaultPrincipalPropagation); a negative value turns the rule off.
	PrincipalPropagation time.Duration
	// Principals are principal ids (users, service principals) that exist besides the identities.
	Principals []string
	// RoleDefinitions are role definition GUIDs accepted besides BuiltinRoles.
	RoleDefinitions []string
	// UnregisteredProviders are resource provider namespaces ("Microsoft.ServiceBus") not registered
	// in any subscription: their requests answer 409 MissingSubscriptionRegistration until
	// registered (POST .../providers/<ns>/register).
	UnregisteredProviders []string
	// RegistrationForbidden makes provider registration answer 403 AuthorizationFailed, as for a
	// caller without */register/action.
	RegistrationForbidden bool
	// CAFile is where the test CA's PEM is written; empty picks a file in a new temporary directory
	// (removed by Close).
	CAFile string
}

// Server is the fake Resource Manager, token endpoint and SCM endpoint, on one HTTPS listener on
// 127.0.0.1.
type Server struct {
	opts    Options
	lis     net.Listener
	srv     *http.Server
	tunnel  *chanListener
	url     string
	pool    *x509.CertPool
	caPEM   []byte
	caFile  string
	tempDir string
	tlsCfg  *tls.Config
	client  *http.Client

	mu           sync.Mutex
	st           *state
	faults       []*Fault
	calls        map[string]int
	log          []string
	seq          int64
	tokens       map[string]bool
	sbWake       chan struct{}   // closed when Service Bus messages become available
	unregistered map[string]bool // "<subscription>/<namespace>" lowercase
}

// Start runs the fakes on a free loopback port.
func Start(ctx context.Context, opts Options) (*Server, error) {
	return Listen(ctx, "127.0.0.1:0", opts)
}

// Listen runs the fakes on addr (":0" picks a free port).
func Listen(_ context.Context, addr string, opts Options) (*Server, error) {
	if len(opts.Subscriptions) == 0 {
		opts.Subscriptions = []string{DefaultSubscription}
	}
	if len(opts.ResourceGroups) == 0 {
		opts.ResourceGroups = []string{DefaultResourceGroup}
	}
	if opts.Location == "" {
		opts.Location = DefaultLocation
	}
	if opts.Tenant == "" {
		opts.Tenant = DefaultTenant
	}
	if opts.SCMSuffix == "" {
		opts.SCMSuffix = DefaultSCMSuffix
	}
	if opts.PrincipalPropagation == 0 {
		opts.PrincipalPropagation = DefaultPrincipalPropagation
	}
	for _, sub := range opts.Subscriptions {
		if !isGUID(sub) {
			return nil, fmt.Errorf("subscription %q: want a GUID", sub)
		}
	}
	s := &Server{opts: opts}
	if err := s.makeCerts(); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.removeTemp()
		return nil, err
	}
	s.lis = l
	s.url = "https://" + l.Addr().String()
	s.reset()
	s.tunnel = newChanListener(l.Addr())
	s.client = s.newHTTPClient()
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		// HTTP/1.1 only, so that a lost response can close the connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() { _ = s.srv.Serve(tls.NewListener(l, s.tlsCfg)) }()
	go func() { _ = s.srv.Serve(tls.NewListener(s.tunnel, s.tlsCfg)) }()
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

// Serve runs the fakes until ctx is done: the body of a standalone process (`threefactor fake
// azure`). ready is called once the listener accepts.
func Serve(ctx context.Context, addr string, opts Options, ready func(*Server)) error {
	s, err := Listen(ctx, addr, opts)
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

// Close stops the listener; calls in flight fail. A CA file in a temporary directory is removed.
func (s *Server) Close() {
	s.client.CloseIdleConnections()
	_ = s.srv.Close()
	_ = s.tunnel.Close()
	s.removeTemp()
}

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

// URL is the base URL of everything the fake serves ("https://127.0.0.1:PORT"): the Resource
// Manager endpoint and the authority host (cloud.Configuration.ActiveDirectoryAuthorityHost is
// URL()+"/").
func (s *Server) URL() string { return s.url }

// Addr is the listener's host:port.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Subscription is the first subscription served.
func (s *Server) Subscription() string { return s.opts.Subscriptions[0] }

// ResourceGroup is the first resource group of every subscription.
func (s *Server) ResourceGroup() string { return s.opts.ResourceGroups[0] }

// Tenant is the directory tenant of the token endpoint.
func (s *Server) Tenant() string { return s.opts.Tenant }

// SCMSuffix is the DNS suffix of the sites' host names.
func (s *Server) SCMSuffix() string { return s.opts.SCMSuffix }

// CAFile is the path of the test CA's PEM, for SSL_CERT_FILE.
func (s *Server) CAFile() string { return s.caFile }

// CAPEM is the test CA certificate in PEM.
func (s *Server) CAPEM() []byte { return s.caPEM }

// CertPool holds the test CA only.
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// HTTPClient trusts the test CA and dials the fake for every host under SCMSuffix (the sites and
// their SCM endpoints) and ServiceBusSuffix (the namespaces' data plane), which no resolver knows. It is an azcore policy.Transporter. The same
// client is returned each time.
func (s *Server) HTTPClient() *http.Client { return s.client }

func (s *Server) newHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err == nil && (strings.HasSuffix(strings.ToLower(host), "."+strings.ToLower(s.opts.SCMSuffix)) || strings.HasSuffix(strings.ToLower(host), "."+ServiceBusSuffix)) {
				addr = s.Addr()
			}
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2: false,
	}
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// Token is a bearer token the fake accepts, as its token endpoint issues them.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueToken()
}

// Reset forgets every resource, operation, fault, call count, issued token and registration.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

func (s *Server) reset() {
	s.st = newState()
	s.faults, s.calls, s.log = nil, map[string]int{}, nil
	s.tokens = map[string]bool{}
	if s.sbWake != nil {
		close(s.sbWake) // waiting receives find their entity gone
	}
	s.sbWake = make(chan struct{})
	s.unregistered = map[string]bool{}
	for _, sub := range s.opts.Subscriptions {
		for _, ns := range s.opts.UnregisteredProviders {
			s.unregistered[strings.ToLower(sub+"/"+ns)] = true
		}
	}
}

// lock takes the server's lock and completes the operations that are due. Callers unlock.
func (s *Server) lock() {
	s.mu.Lock()
	s.settle(time.Now())
}

func (s *Server) next() int64 {
	s.seq++
	return s.seq
}

// Leftovers lists every resource that exists, "<type> <id>" each, sorted: what a destroy must
// leave empty. A soft-deleted resource is listed with " (soft-deleted)": it still holds its name
// and its data. Implicit resources (a site's app settings and publishing policies, built-in Cosmos
// role definitions, a subscription's $Default rule) are not listed; role assignments are.
func (s *Server) Leftovers() []string {
	s.lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.st.res {
		if r.implicit {
			continue
		}
		out = append(out, r.typ+" "+r.id)
	}
	for _, r := range s.st.deleted {
		out = append(out, r.typ+" "+r.id+" (soft-deleted)")
	}
	sort.Strings(out)
	return out
}

// Resource returns a resource as a GET of its id answers it (JSON decoded), and whether it exists.
func (s *Server) Resource(id string) (map[string]any, bool) {
	s.lock()
	defer s.mu.Unlock()
	r := s.st.get(id)
	if r == nil {
		return nil, false
	}
	return s.render(r), true
}

// Deployed returns the zip last published to the named site through its SCM endpoint, and
// whether there is one.
func (s *Server) Deployed(site string) ([]byte, bool) {
	s.lock()
	defer s.mu.Unlock()
	for _, r := range s.st.res {
		if strings.EqualFold(r.typ, typeSites) && strings.EqualFold(r.name, site) && r.zip != nil {
			return append([]byte(nil), r.zip...), true
		}
	}
	return nil, false
}

func (s *Server) makeCerts() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "threefactor azurefake test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	sfx := strings.ToLower(s.opts.SCMSuffix)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost", sfx, "*." + sfx, "*.scm." + sfx, "*." + ServiceBusSuffix},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.pool = x509.NewCertPool()
	s.pool.AddCert(ca)
	s.tlsCfg = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}},
	}
	s.caFile = s.opts.CAFile
	if s.caFile == "" {
		dir, err := os.MkdirTemp("", "azurefake-")
		if err != nil {
			return err
		}
		s.tempDir = dir
		s.caFile = filepath.Join(dir, "ca.pem")
	}
	return os.WriteFile(s.caFile, s.caPEM, 0o600)
}

// chanListener is a net.Listener fed with the connections tunnelled through CONNECT.
type chanListener struct {
	addr   net.Addr
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}
