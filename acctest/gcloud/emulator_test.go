package gcloud

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("GCLOUD_TEST_ORPHAN") != "" {
		orphanHelper()
		return
	}
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// TestStartup reports how long each shared emulator took to answer and how much memory it holds.
func TestStartup(t *testing.T) {
	for _, e := range []*Emulator{PubSub(t), Firestore(t)} {
		rss, err := e.RSS()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s emulator: answered after %v, RSS %d MiB", e.Kind, e.StartedIn.Round(time.Millisecond), rss>>20)
	}
}

// orphanHelper runs in a child test binary: it starts a Pub/Sub emulator, prints its pid and exits
// without closing it.
func orphanHelper() {
	e, err := Start(context.Background(), PubSubKind)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("pid", e.Pid())
	os.Exit(0)
}

// TestDiesWithTestBinary: an emulator whose test binary exits without Close does not outlive it.
func TestDiesWithTestBinary(t *testing.T) {
	PubSub(t) // skips where the emulator is not installed
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GCLOUD_TEST_ORPHAN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	_ = cmd.Wait()
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL) // its own group: our orphan, not someone else's
			t.Fatalf("emulator %d still runs 10 s after its test binary exited", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
