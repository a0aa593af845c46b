//go:build linux

package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// With EMULATOR_TEST_ORPHAN set, the test binary is the parent of
// TestDieWithParent: it starts a sleep that is to die with it, prints the
// sleep's pid and exits without stopping it.
func TestMain(m *testing.M) {
	if os.Getenv("EMULATOR_TEST_ORPHAN") != "" {
		p, err := Start(exec.Command("sleep", "300"), Options{DieWithParent: true})
		if err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		fmt.Println(p.cmd.Process.Pid)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func start(t *testing.T, o Options, script string) *Process {
	t.Helper()
	p, err := Start(exec.Command("sh", "-c", script), o)
	if err != nil {
		t.Fatal(err)
	}
	// Killed at once, whatever the test left running (a sh that is not
	// told to exec leaves its sleep behind: use exec or Group).
	t.Cleanup(func() {
		if o.Group {
			killGroup(p.cmd.Process)
		}
		_ = p.cmd.Process.Kill()
	})
	return p
}

// alive reports whether pid is a process that has not exited (a zombie
// has: nothing may reap orphans in a container).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	t.Fatalf("process %d still runs 5s after it should have died", pid)
}

func waitExited(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("the command has not exited 5s after it should have")
	}
}

// grandchild starts sh that starts a sleep and waits for it, and returns
// the sleep's pid, which sh prints first.
func grandchild(t *testing.T, o Options) (*Process, int) {
	t.Helper()
	o.Capture = true
	p := start(t, o, `sleep 300 & echo $!; wait`)
	if err := p.Ready(5*time.Second, func(context.Context) bool { return strings.Contains(p.Output(), "\n") }); err != nil {
		t.Fatalf("sh printed no pid: %v (output %q)", err, p.Output())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(p.Output()))
	if err != nil {
		t.Fatal(err)
	}
	return p, pid
}

func TestReadyOnceReady(t *testing.T) {
	p := start(t, Options{}, `exec sleep 300`)
	calls := 0
	err := p.Ready(10*time.Second, func(ctx context.Context) bool {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("ready's context has no deadline")
		}
		calls++
		return calls == 3
	})
	if err != nil || calls != 3 {
		t.Fatalf("Ready = %v after %d calls; want nil after 3", err, calls)
	}
}

func TestReadyGivesUpAtTheDeadline(t *testing.T) {
	p := start(t, Options{}, `exec sleep 300`)
	began := time.Now()
	err := p.Ready(300*time.Millisecond, func(context.Context) bool { return false })
	took := time.Since(began)
	if err == nil || err.Error() != "did not answer within 300ms" {
		t.Errorf("Ready = %v; want did not answer within 300ms", err)
	}
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("Ready took %v; want 300ms and a little", took)
	}
}

// A check that blocks is cut off at the deadline by its context.
func TestReadyNamesTheTimeoutInSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Second: "30s", 60 * time.Second: "60s", 1500 * time.Millisecond: "1.5s"} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %q; want %q", d, got, want)
		}
	}
}

func TestReadyCheckEndsAtTheDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	p := start(t, Options{}, `exec sleep 300`)
	began := time.Now()
	if err := p.Ready(300*time.Millisecond, HTTPOK(srv.URL)); err == nil {
		t.Fatal("Ready = nil for a server that never answers")
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("Ready took %v on a hanging check; want 300ms and a little", took)
	}
}

func TestReadySeesTheCommandExit(t *testing.T) {
	p := start(t, Options{}, `exit 3`)
	err := p.Ready(10*time.Second, func(context.Context) bool { return false })
	if !errors.Is(err, ErrExited) || err.Error() != "exited" {
		t.Fatalf("Ready = %v; want ErrExited", err)
	}
}

func TestStopKillsTheProcessGroup(t *testing.T) {
	p, pid := grandchild(t, Options{Group: true})
	p.Stop()
	waitExited(t, p)
	waitDead(t, pid)
}

// Without Group a kill ends the command alone: what Group is for.
func TestStopWithoutGroupLeavesGrandchildren(t *testing.T) {
	p, pid := grandchild(t, Options{})
	defer func() { _ = exec.Command("kill", "-KILL", strconv.Itoa(pid)).Run() }()
	p.Stop()
	waitDead(t, p.cmd.Process.Pid)
	if !alive(pid) {
		t.Fatalf("the grandchild %d died without Group", pid)
	}
}

func TestStopClosesTheLifeline(t *testing.T) {
	p := start(t, Options{Lifeline: true, Capture: true}, `read -r _; echo EOF seen`)
	began := time.Now()
	p.Stop()
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("Stop took %v; want the command's exit on EOF", took)
	}
	waitExited(t, p)
	if got := p.Output(); got != "EOF seen\n" {
		t.Errorf("Output = %q; want the command's goodbye", got)
	}
}

func TestStopKillsWhatIgnoresTheLifeline(t *testing.T) {
	defer func(g time.Duration) { stopGrace = g }(stopGrace)
	stopGrace = 200 * time.Millisecond
	p, pid := grandchild(t, Options{Group: true, Lifeline: true})
	began := time.Now()
	p.Stop()
	if took := time.Since(began); took < stopGrace {
		t.Errorf("Stop took %v; want the grace of %v first", took, stopGrace)
	}
	waitExited(t, p)
	waitDead(t, pid)
}

func TestOutputIsCaptured(t *testing.T) {
	p := start(t, Options{Capture: true}, `echo out; echo err >&2`)
	waitExited(t, p)
	if got := p.Output(); !strings.Contains(got, "out\n") || !strings.Contains(got, "err\n") {
		t.Errorf("Output = %q; want both streams", got)
	}

	var stdout bytes.Buffer
	cmd := exec.Command("sh", "-c", `echo out; echo err >&2`)
	cmd.Stdout = &stdout
	p, err := Start(cmd, Options{Capture: true})
	if err != nil {
		t.Fatal(err)
	}
	waitExited(t, p)
	if got := p.Output(); got != "err\n" || stdout.String() != "out\n" {
		t.Errorf("Output = %q, the caller's stdout %q; want stderr alone captured", got, stdout.String())
	}

	p = start(t, Options{}, `echo out`)
	waitExited(t, p)
	if got := p.Output(); got != "" {
		t.Errorf("Output without Capture = %q", got)
	}
}

// The command dies with the test binary when that exits without Stop.
func TestDieWithParent(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EMULATOR_TEST_ORPHAN=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("the parent printed %q", out)
	}
	waitDead(t, pid)
}

func TestStartFailsForAMissingCommand(t *testing.T) {
	if _, err := Start(exec.Command("/nonexistent/emulator"), Options{Group: true, Lifeline: true}); err == nil {
		t.Fatal("Start of a missing command succeeded")
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("listening on the free port %d: %v", port, err)
	}
	_ = l.Close()
}

func TestOnFreePortTriesThreeTimes(t *testing.T) {
	calls := 0
	v, err := OnFreePort(func(port int) (int, error) {
		calls++
		if port <= 0 {
			t.Errorf("port %d", port)
		}
		if calls < 3 {
			return 0, fmt.Errorf("taken %d", calls)
		}
		return port, nil
	})
	if err != nil || v <= 0 || calls != 3 {
		t.Errorf("OnFreePort = %d, %v after %d calls; want a port after 3", v, err, calls)
	}

	calls = 0
	_, err = OnFreePort(func(int) (int, error) { calls++; return 0, fmt.Errorf("taken %d", calls) })
	if err == nil || err.Error() != "taken 3" || calls != 3 {
		t.Errorf("OnFreePort = %v after %d calls; want the third error", err, calls)
	}
}

func TestHTTPOK(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer bad.Close()
	ctx := context.Background()
	if !HTTPOK(ok.URL)(ctx) {
		t.Error("HTTPOK = false for 200")
	}
	if HTTPOK(bad.URL)(ctx) {
		t.Error("HTTPOK = true for 503")
	}
	port, _ := FreePort()
	if HTTPOK(fmt.Sprintf("http://127.0.0.1:%d/", port))(ctx) {
		t.Error("HTTPOK = true with nothing listening")
	}
}
