// Package cosmostest starts a private Cosmos DB emulator, npm
// @vercel/cosmosdb-server, on a free loopback port for the tests of one
// package, and hands each test a database of its own in it: for the
// library's own tests and for tests of handlers built on cosmosstore (see
// examples/handler-go-azure in the provider repository).
//
// The npm package is installed from the npm registry into a cache directory
// (the user cache dir's threefactor/cosmosdb-server-<version>) on first use.
// Its CLI binds every interface, so the server is started in code by a small
// node script, on 127.0.0.1 only, with a TLS certificate made for the test
// run; SSL_CERT_FILE points at that certificate for the whole process, so
// that clients made by cosmosstore.OpenURL (as a handler's main makes them)
// trust it. The node process exits when its stdin, held by this process,
// closes: it dies with the test binary however that ends. When node or npm
// is missing or the install fails, the test fails and says why: it never
// skips.
package cosmostest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore"
)

// Version is the npm @vercel/cosmosdb-server version installed.
const Version = "1.0.1"

// Key is the account key tests use: the emulator accepts any well-formed key.
const Key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="

// Container is the dedup container's name in each test database.
const Container = "dedup"

// Emulator is a running emulator.
type Emulator struct {
	// Host is 127.0.0.1:port.
	Host string
	// CertFile is the PEM file of the server's certificate (its own CA).
	CertFile string
	pool     *x509.CertPool
	cmd      *exec.Cmd
	lifeline io.Closer
	exited   <-chan struct{}
}

var (
	shared     *Emulator
	sharedErr  error
	sharedOnce sync.Once
	sharedDir  string
	databases  atomic.Int64
)

// Shared returns the package's emulator, starting it on first use, and sets
// SSL_CERT_FILE to its certificate and THREEFACTOR_COSMOS_KEY to Key for the
// whole process. Call it before anything in the process makes a TLS
// connection (Go reads SSL_CERT_FILE once). It fails the test when the
// emulator cannot start: never skips.
func Shared(t testing.TB) *Emulator {
	t.Helper()
	sharedOnce.Do(func() {
		var dir string
		if dir, sharedErr = os.MkdirTemp("", "cosmostest-"); sharedErr != nil {
			return
		}
		sharedDir = dir
		shared, sharedErr = Start(dir)
		if sharedErr == nil {
			sharedErr = os.Setenv("SSL_CERT_FILE", shared.CertFile)
		}
		if sharedErr == nil {
			sharedErr = os.Setenv(cosmosstore.EnvKey, Key)
		}
	})
	if sharedErr != nil {
		t.Fatalf("starting the Cosmos DB emulator (npm @vercel/cosmosdb-server %s, with node and npm on PATH): %v", Version, sharedErr)
	}
	return shared
}

// StopShared stops the shared emulator, if one was started; call it from TestMain.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
	if sharedDir != "" {
		_ = os.RemoveAll(sharedDir)
	}
}

// Install installs the npm package into the cache directory, unless it is
// there, and returns the package's directory.
func Install() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "threefactor", "cosmosdb-server-"+Version)
	pkg := filepath.Join(dir, "node_modules", "@vercel", "cosmosdb-server")
	if _, err := os.Stat(filepath.Join(pkg, "lib", "index.js")); err == nil {
		return pkg, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	// Install beside, then rename: test binaries of other packages may
	// install at the same time.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".install-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	cmd := exec.Command(npm, "install", "--prefix", tmp, "--no-audit", "--no-fund", "--no-save", "--loglevel=error", "@vercel/cosmosdb-server@"+Version)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install @vercel/cosmosdb-server@%s: %w\n%s", Version, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(pkg, "lib", "index.js")); statErr != nil {
			return "", err
		}
	}
	return pkg, nil
}

// script starts the server in code on 127.0.0.1 (the CLI would bind every
// interface), prints its port, and exits when stdin closes. It first fixes
// two emulator bugs: a point read of a missing item with a partition key
// throws (500) where Cosmos answers 404 Not Found, and a replace inside a
// transactional batch ignores the batch's partition key (500).
const script = `
const fs = require("fs");
const path = require("path");
const readDocument = require(path.join(process.argv[1], "lib", "handler", "read-document"));
const read = readDocument.default;
readDocument.default = (account, req, res, params) => {
  try {
    return read(account, req, res, params);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    res.statusCode = 404;
    return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
  }
};
const ops = require(path.join(process.argv[1], "lib", "handler", "_document-operations"));
const replace = ops.replaceOperation;
ops.replaceOperation = (collection, input) => {
  const def = collection.read().partitionKey;
  if (input.partitionKey === undefined && input.resourceBody && def && def.paths) {
    input = { ...input, partitionKey: JSON.stringify(def.paths.map(p => input.resourceBody[p.slice(1)])) };
  }
  return replace(collection, input);
};
const { createHttpsServer } = require(process.argv[1]);
const server = createHttpsServer({ cert: fs.readFileSync(process.argv[2]), key: fs.readFileSync(process.argv[3]) });
server.listen(0, "127.0.0.1", () => { console.log("LISTENING " + server.address().port); });
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
`

// Start installs (if needed) and starts an emulator, writing its
// certificate and key into dir.
func Start(dir string) (*Emulator, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	pkg, err := Install()
	if err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(dir, "cosmos-cert.pem"), filepath.Join(dir, "cosmos-key.pem")
	pool, err := writeCert(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, "-e", script, pkg, certFile, keyFile)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errOut := &lockedWriter{}
	cmd.Stderr = errOut
	lifeline, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	e := &Emulator{CertFile: certFile, pool: pool, cmd: cmd, lifeline: lifeline, exited: exited}
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				port <- p
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case p := <-port:
		e.Host = "127.0.0.1:" + p
		return e, nil
	case <-exited:
		return nil, fmt.Errorf("the emulator exited: %s", errOut.String())
	case <-time.After(60 * time.Second):
		e.Stop()
		return nil, fmt.Errorf("the emulator did not listen within 60s: %s", errOut.String())
	}
}

// Stop ends the emulator: it exits when its stdin closes.
func (e *Emulator) Stop() {
	_ = e.lifeline.Close()
	select {
	case <-e.exited:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
	}
}

// Endpoint is the emulator's account endpoint.
func (e *Emulator) Endpoint() string { return "https://" + e.Host + "/" }

// ClientOptions trust the emulator's certificate explicitly.
func (e *Emulator) ClientOptions() *azcosmos.ClientOptions {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool, MinVersion: tls.VersionTLS12}}
	return &azcosmos.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}}
}

// Client returns a key-authenticated client of the emulator.
func (e *Emulator) Client(t testing.TB) *azcosmos.Client {
	t.Helper()
	cred, err := azcosmos.NewKeyCredential(Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azcosmos.NewClientWithKey(e.Endpoint(), cred, e.ClientOptions())
	if err != nil {
		t.Fatalf("Cosmos client of the emulator: %v", err)
	}
	return c
}

// Database creates a database of its own for t, with the dedup container
// (partition key /pk) as the provider creates it, deleted when t ends, and
// returns its name.
func (e *Emulator) Database(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	c := e.Client(t)
	name := fmt.Sprintf("db%d-%d", os.Getpid(), databases.Add(1))
	if _, err := c.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: name}, nil); err != nil {
		t.Fatalf("creating database %s in the emulator: %v", name, err)
	}
	db, err := c.NewDatabase(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Delete(context.Background(), nil) })
	ttl := int32(3600)
	if _, err := db.CreateContainer(ctx, azcosmos.ContainerProperties{
		ID:                     Container,
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/pk"}},
		DefaultTimeToLive:      &ttl,
	}, nil); err != nil {
		t.Fatalf("creating container %s in the emulator: %v", Container, err)
	}
	return name
}

// Store returns a cosmosstore.Store on a database of its own for t.
func (e *Emulator) Store(t testing.TB) *cosmosstore.Store {
	t.Helper()
	name := e.Database(t)
	c, err := e.Client(t).NewContainer(name, Container)
	if err != nil {
		t.Fatal(err)
	}
	return cosmosstore.New(c, cosmosstore.Options{})
}

// URL is the dedup store URL of database db, as the provider injects it
// but for the emulator's host.
func (e *Emulator) URL(db string) string {
	return "cosmos://" + e.Host + "/" + db + "/" + Container
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(certFile, keyFile string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "threefactor cosmostest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}

// lockedWriter collects the emulator's output for a failure message.
type lockedWriter struct {
	mu sync.Mutex
	w  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
