package gcloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Kind names an emulator.
type Kind string

// The emulators this package runs.
const (
	PubSubKind    Kind = "pubsub"
	FirestoreKind Kind = "firestore"
)

// ErrNotInstalled is returned by Start when java or the emulator's jar (from google-cloud-cli) is missing.
var ErrNotInstalled = errors.New("google-cloud-cli emulators not found: install google-cloud-cli with " +
	"google-cloud-cli-pubsub-emulator and google-cloud-cli-firestore-emulator, and Java 17+")

// jvmFlags make the JVM start faster and stay smaller on a shared 2-core machine: one GC thread,
// no C2 compiler (the emulators serve small test loads) and a bounded heap.
var jvmFlags = []string{"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx512m", "-Duser.language=en"}

// Emulator is one running emulator process.
type Emulator struct {
	// Kind says which emulator this is.
	Kind Kind
	// Host is its "127.0.0.1:port", the value of PUBSUB_EMULATOR_HOST or FIRESTORE_EMULATOR_HOST. It
	// serves gRPC and the emulator's REST API (plain HTTP/1.1 and h2c) on that one port.
	Host string
	// StartedIn is how long the emulator took from exec until it answered.
	StartedIn time.Duration

	cmd    *exec.Cmd
	out    *logBuffer
	exited chan struct{}
	once   sync.Once
}

// Start runs the emulator of kind on a free loopback port and waits until it answers (polling, for at
// most 60 s or until ctx ends).
//
// The JVM is started directly, with the arguments gcloud would pass it, rather than through
// `gcloud ... emulators ... start`: that wrapper is a Python process with a shell script and the JVM
// below it, and only a direct child can be made to die with the test binary (Pdeathsig). It also
// saves about a second and 60 MB per emulator. (Linux sends Pdeathsig when the thread that started
// the child ends; Go ends a thread only under a goroutine that locked it and exits locked, so do not
// call Start from one.)
func Start(ctx context.Context, kind Kind) (*Emulator, error) {
	args, err := command(kind)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 { // the free port can be taken between probe and bind
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		e, err := launch(ctx, kind, args, port)
		if err == nil {
			return e, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// command returns the emulator's command line without its host and port.
func command(kind Kind) ([]string, error) {
	java, err := javaPath()
	if err != nil {
		return nil, err
	}
	root, err := sdkRoot()
	if err != nil {
		return nil, err
	}
	args := append([]string{java}, jvmFlags...)
	switch kind {
	case PubSubKind:
		jars, _ := filepath.Glob(filepath.Join(root, "platform", "pubsub-emulator", "lib", "cloud-pubsub-emulator-*-all.jar"))
		if len(jars) == 0 {
			return nil, fmt.Errorf("%w (no pubsub-emulator jar under %s)", ErrNotInstalled, root)
		}
		return append(args, "-jar", jars[len(jars)-1]), nil
	case FirestoreKind:
		jar := filepath.Join(root, "platform", "cloud-firestore-emulator", "cloud-firestore-emulator.jar")
		if _, err := os.Stat(jar); err != nil {
			return nil, fmt.Errorf("%w (%v)", ErrNotInstalled, err)
		}
		return append(args, "-cp", jar, "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start",
			"--database-mode=firestore-native"), nil
	}
	return nil, fmt.Errorf("unknown emulator kind %q", kind)
}

func javaPath() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); fileExists(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("%w (java: %v)", ErrNotInstalled, err)
	}
	return p, nil
}

// sdkRoot is CLOUDSDK_ROOT_DIR, or the directory above the bin/ of the gcloud on PATH.
func sdkRoot() (string, error) {
	if root := os.Getenv("CLOUDSDK_ROOT_DIR"); root != "" {
		return root, nil
	}
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return "", fmt.Errorf("%w (gcloud: %v)", ErrNotInstalled, err)
	}
	if resolved, err := filepath.EvalSymlinks(gcloud); err == nil {
		gcloud = resolved
	}
	return filepath.Dir(filepath.Dir(gcloud)), nil
}

func launch(ctx context.Context, kind Kind, args []string, port int) (*Emulator, error) {
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args = append(args, "--host=127.0.0.1", "--port="+strconv.Itoa(port))
	cmd := exec.Command(args[0], args[1:]...)
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that Close ends everything it started and a Ctrl-C to `go test` is
	// handled by the test binary; Pdeathsig kills it when the test binary dies without reaching
	// Close (a panic, a -timeout, a SIGKILL).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s emulator: %w", kind, err)
	}
	e := &Emulator{Kind: kind, Host: host, cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(e.exited) }()
	if err := e.waitReady(ctx); err != nil {
		e.Close()
		return nil, fmt.Errorf("%w\n%s emulator output:\n%s", err, kind, out.String())
	}
	e.StartedIn = time.Since(start)
	return e, nil
}

// waitReady polls GET / (which answers "Ok" once the emulator serves) with a short backoff.
func (e *Emulator) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	wait := 20 * time.Millisecond
	for {
		resp, err := client.Get("http://" + e.Host + "/")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "Ok" {
				return nil
			}
			err = fmt.Errorf("GET /: %s %q", resp.Status, body)
		}
		select {
		case <-e.exited:
			return fmt.Errorf("the %s emulator on %s exited before it answered", e.Kind, e.Host)
		case <-ctx.Done():
			return fmt.Errorf("the %s emulator did not answer on %s: %w", e.Kind, e.Host, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// Close stops the emulator's process group: SIGTERM, then SIGKILL after 5 s, and waits
// until it exited. It is idempotent.
func (e *Emulator) Close() {
	e.once.Do(func() {
		pgid := -e.cmd.Process.Pid
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-e.exited
		}
	})
}

// Pid is the emulator's process id (the JVM's).
func (e *Emulator) Pid() int { return e.cmd.Process.Pid }

// Output is what the emulator printed so far (at most the last 64 KiB).
func (e *Emulator) Output() string { return e.out.String() }

// RSS is the emulator's resident memory in bytes, from /proc.
func (e *Emulator) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.Pid()))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// Env is the variable the Google SDKs read to reach this emulator without credentials:
// PUBSUB_EMULATOR_HOST or FIRESTORE_EMULATOR_HOST.
func (e *Emulator) Env() string {
	if e.Kind == PubSubKind {
		return "PUBSUB_EMULATOR_HOST=" + e.Host
	}
	return "FIRESTORE_EMULATOR_HOST=" + e.Host
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

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// logBuffer keeps the last 64 KiB of a process's output.
type logBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if over := len(l.b) - 64<<10; over > 0 {
		l.b = l.b[over:]
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
