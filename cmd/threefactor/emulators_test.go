package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestEmulatorsRun: `threefactor emulators run -- COMMAND` gives COMMAND the kit's environment,
// returns its exit status, and stops the kit when it ends.
func TestEmulatorsRun(t *testing.T) {
	ctx := context.Background()
	envPath := filepath.Join(t.TempDir(), "kit.env")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"emulators", "run", "--env-file", envPath, "--", "sh", "-c", `printf %s "$AWS_ENDPOINT_URL"`}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	url := stdout.String()
	env, err := os.ReadFile(envPath)
	if err != nil || !strings.Contains(string(env), "AWS_ENDPOINT_URL="+url+"\n") || !strings.Contains(string(env), "AWS_EC2_METADATA_DISABLED=true") {
		t.Errorf("env file %q (%v) does not hold the endpoint %q the command saw", env, err, url)
	}
	if !strings.Contains(stderr.String(), "use_docker false") {
		t.Errorf("the kit does not say moto runs without Docker: %q", stderr.String())
	}
	if answers(url) {
		t.Errorf("the kit's endpoint %s still answers after the command ended", url)
	}
	if code := run(ctx, []string{"emulators", "run", "--", "sh", "-c", "exit 3"}, &stdout, &stderr); code != 3 {
		t.Errorf("exit %d, want the command's 3", code)
	}
}

// TestEmulatorsTwoKits: two kits started at once on one machine, each with its own state
// directory, both answer on their own ports; stopping them, or killing one outright, leaves no
// process behind.
func TestEmulatorsTwoKits(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "threefactor")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	var wg sync.WaitGroup
	for _, dir := range dirs {
		wg.Go(func() {
			if out, err := exec.Command(bin, "emulators", "start", "--dir", dir).CombinedOutput(); err != nil {
				t.Errorf("start --dir %s: %v\n%s", dir, err, out)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var urls []string
	var children [][]int
	for _, dir := range dirs {
		url := endpointOf(t, dir)
		if !answers(url) {
			t.Errorf("the kit of %s does not answer on %s", dir, url)
		}
		urls = append(urls, url)
		kids := childrenOf(supervisor(t, dir))
		if len(kids) == 0 {
			t.Errorf("the kit of %s runs no emulator process of its own", dir)
		}
		children = append(children, kids)
	}
	if urls[0] == urls[1] {
		t.Fatalf("two kits share the endpoint %s", urls[0])
	}
	// One stopped as documented, the other killed outright.
	if out, err := exec.Command(bin, "emulators", "stop", "--dir", dirs[0]).CombinedOutput(); err != nil {
		t.Errorf("stop: %v\n%s", err, out)
	}
	if err := syscall.Kill(supervisor(t, dirs[1]), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := range dirs {
		for _, pid := range children[i] {
			if !gone(pid) {
				t.Errorf("kit %d: process %d (%s) is left behind", i, pid, cmdline(pid))
			}
		}
		if answers(urls[i]) {
			t.Errorf("kit %d still answers on %s", i, urls[i])
		}
	}
}

func endpointOf(t *testing.T, dir string) string {
	t.Helper()
	env, err := os.ReadFile(filepath.Join(dir, envFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(env), "\n") {
		if v, ok := strings.CutPrefix(line, "AWS_ENDPOINT_URL="); ok {
			return v
		}
	}
	t.Fatalf("env file of %s has no AWS_ENDPOINT_URL: %q", dir, env)
	return ""
}

func supervisor(t *testing.T, dir string) int {
	t.Helper()
	pid, err := readPid(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// gone waits a little for pid to end: a killed process is reaped asynchronously.
func gone(pid int) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !alive(pid) {
			return true
		}
	}
	return false
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

func answers(url string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url + "/moto-api/data.json")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return true
}
