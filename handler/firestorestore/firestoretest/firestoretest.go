// Package firestoretest starts a private Firestore emulator (gcloud emulators
// firestore start, from google-cloud-cli with Java) on a free loopback port
// for the tests of one package, and hands each test a project of its own in
// it: for the library's own tests and for tests of handlers built on
// firestorestore (see examples/handler-go-gcp in the provider repository).
//
// Each test binary starts its own emulator (go test runs packages in
// parallel), and each test uses a project id of its own, so nothing is
// reset while another test uses it; a client from Client empties its
// database (the emulator's DELETE .../documents) when its test ends. The
// emulator's processes die with the test binary, however that ends. When the
// emulator cannot start, the test fails and says why: it never skips.
package firestoretest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/threefactor/terraform-provider-threefactor/handler/internal/emulator"
)

// EnvHost is the variable Google's client libraries read to reach the
// emulator.
const EnvHost = "FIRESTORE_EMULATOR_HOST"

// Database is the named database tests use: the provider never uses
// (default) for dedup records.
const Database = "threefactor-dedup"

// Emulator is a running Firestore emulator.
type Emulator struct {
	// Host is host:port, as FIRESTORE_EMULATOR_HOST takes it.
	Host string
	// proc's lifeline is the launcher shell's stdin: when this process
	// ends, the shell reads EOF and kills its process group.
	proc *emulator.Process
}

var (
	shared     *Emulator
	sharedErr  error
	sharedOnce sync.Once
	projects   atomic.Int64
)

// Shared returns the package's emulator, starting it on first use, and
// points FIRESTORE_EMULATOR_HOST at it for the whole process (the client
// libraries read it when a client is made). It fails the test when the
// emulator cannot start (gcloud missing, no Java): never skips.
func Shared(t testing.TB) *Emulator {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = Start()
		if sharedErr == nil {
			sharedErr = os.Setenv(EnvHost, shared.Host)
		}
	})
	if sharedErr != nil {
		t.Fatalf("starting the Firestore emulator (gcloud emulators firestore start, from google-cloud-cli with its cloud-firestore-emulator component and Java 17+): %v", sharedErr)
	}
	return shared
}

// StopShared stops the shared emulator, if one was started; call it from TestMain.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

// Start starts the emulator on a free loopback port and waits until it answers.
func Start() (*Emulator, error) {
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return nil, err
	}
	return emulator.OnFreePort(func(port int) (*Emulator, error) {
		host := fmt.Sprintf("127.0.0.1:%d", port)
		// gcloud moves into a process group of its own and starts a shell
		// script that starts java; none passes a signal on. The launcher
		// shell kills gcloud's group (and its own) when its stdin, the
		// lifeline, closes: the kernel closes it when this process ends,
		// however it ends.
		cmd := exec.Command("sh", "-c", `"$0" emulators firestore start --quiet --host-port="$1" & pid=$!; read -r _; kill -KILL -$pid 2>/dev/null; kill -KILL $pid 2>/dev/null; kill -KILL 0`, gcloud, host)
		cmd.Env = append(os.Environ(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1")
		// No Pdeathsig: it would kill the shell before it kills the rest.
		p, err := emulator.Start(cmd, emulator.Options{Group: true, Lifeline: true, Capture: true})
		if err != nil {
			return nil, err
		}
		e := &Emulator{Host: host, proc: p}
		// The emulator's root answers "Ok" once it serves.
		if err := p.Ready(60*time.Second, emulator.HTTPOK("http://"+host+"/")); err != nil {
			e.Stop()
			return nil, fmt.Errorf("the Firestore emulator on %s %w; its output:\n%s", host, err, p.Output())
		}
		return e, nil
	})
}

// Stop kills the emulator's processes: the launcher shell kills them when
// its lifeline closes, and exits.
func (e *Emulator) Stop() { e.proc.Stop() }

// Project returns a project id no other test of this process uses.
func Project() string {
	return fmt.Sprintf("p%d-%d", os.Getpid(), projects.Add(1))
}

// Client returns a client of the emulator's database db in project, closed
// and emptied (Reset) when t ends.
func (e *Emulator) Client(t testing.TB, project, db string) *firestore.Client {
	t.Helper()
	c, err := firestore.NewClientWithDatabase(context.Background(), project, db)
	if err != nil {
		t.Fatalf("Firestore client of the emulator: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		e.Reset(t, project, db)
	})
	return c
}

// Reset deletes every document of the database db of project.
func (e *Emulator) Reset(t testing.TB, project, db string) {
	t.Helper()
	u := fmt.Sprintf("http://%s/emulator/v1/projects/%s/databases/%s/documents", e.Host, project, db)
	req, err := http.NewRequest(http.MethodDelete, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("resetting the Firestore emulator's database %s: %v", db, err)
		return
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("resetting the Firestore emulator's database %s: %s", db, resp.Status)
	}
}
