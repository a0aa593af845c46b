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

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
)

func TestMain(m *testing.M) {
	if os.Getenv("GCLOUD_TEST_ORPHAN") != "" {
		orphanHelper()
		return
	}
	code := m.Run()
	if testing.Verbose() {
		reportUsage()
	}
	StopShared()
	os.Exit(code)
}

// reportUsage prints each shared emulator's memory and CPU time after the tests.
func reportUsage() {
	for _, s := range shared {
		if s.e == nil {
			continue
		}
		rss, _ := s.e.RSS()
		fmt.Printf("%s emulator after the tests: RSS %d MiB, CPU %v\n", s.e.Kind, rss>>20, cpuTime(s.e.Pid()))
	}
}

// cpuTime is the user and system time of process pid, from /proc (in clock ticks of 10 ms).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// TestStartup reports how long each shared emulator took to answer and how much memory it holds.
func TestStartup(t *testing.T) {
	for _, e := range []*Emulator{PubSub(t), Firestore(t)} {
		rss, err := e.RSS()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s emulator: answered after %v, RSS %d MiB, CPU %v", e.Kind, e.StartedIn.Round(time.Millisecond), rss>>20, cpuTime(e.Pid()))
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

// TestEnv: the official clients find the emulators through PUBSUB_EMULATOR_HOST and
// FIRESTORE_EMULATOR_HOST (what Env returns) with no options at all, as Google users expect.
func TestEnv(t *testing.T) {
	ps, fs := PubSub(t), Firestore(t)
	project := ps.Project(t)
	fs.Project(t) // only for its cleanup: the same id is used below
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, e := range []*Emulator{ps, fs} {
		k, v, _ := strings.Cut(e.Env(), "=")
		t.Setenv(k, v)
	}
	c, err := pubsub.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + project + "/topics/env"}); err != nil {
		t.Errorf("CreateTopic with PUBSUB_EMULATOR_HOST: %v", err)
	}
	f, err := firestore.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Collection("c").Doc("d").Create(ctx, map[string]any{"x": 1}); err != nil {
		t.Errorf("Create with FIRESTORE_EMULATOR_HOST: %v", err)
	}

	// Given ClientOptions, the Pub/Sub client ignores PUBSUB_EMULATOR_HOST.
	t.Setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:1")
	c2, err := pubsub.NewClient(ctx, project, ps.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c2.Close() }()
	if _, err := c2.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: "projects/" + project + "/topics/env"}); err != nil {
		t.Errorf("GetTopic with ClientOptions and PUBSUB_EMULATOR_HOST elsewhere: %v", err)
	}
}
