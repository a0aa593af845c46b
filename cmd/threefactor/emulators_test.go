package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
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

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/iterator"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
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
	stderr.Reset()
	if code := run(ctx, []string{"emulators", "run", "--cloud", "aws,gpc", "--", "true"}, &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), `unknown cloud "gpc"; want a comma-separated list of aws, gcp, azure`) {
		t.Errorf("--cloud aws,gpc: exit %d, stderr %q; want 2 and a message naming gpc and the clouds allowed", code, stderr.String())
	}
}

// TestEmulatorsTwoKits: two kits of all three clouds started at once on one machine, each with its
// own state directory, answer on their own ports; stopping them, or killing one outright, leaves no
// process behind and nothing answering.
func TestEmulatorsTwoKits(t *testing.T) {
	bin := kitBinary(t)
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	var wg sync.WaitGroup
	for _, dir := range dirs {
		wg.Go(func() {
			if out, err := exec.Command(bin, "emulators", "start", "--cloud", "aws,gcp,azure", "--dir", dir).CombinedOutput(); err != nil {
				t.Errorf("start --dir %s: %v\n%s", dir, err, out)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var envs []map[string]string
	var children [][]int
	for _, dir := range dirs {
		env := readEnv(t, filepath.Join(dir, envFile))
		for _, what := range endpoints(env) {
			if err := what.answers(); err != nil {
				t.Errorf("the kit of %s: %s does not answer on %s: %v", dir, what.name, what.addr, err)
			}
		}
		envs = append(envs, env)
		kids := childrenOf(supervisor(t, dir))
		if len(kids) != 3 { // moto_server and the Pub/Sub and Firestore emulators
			t.Errorf("the kit of %s runs %d emulator processes, want 3: %v", dir, len(kids), kids)
		}
		children = append(children, kids)
	}
	for _, a := range endpoints(envs[0]) {
		for _, b := range endpoints(envs[1]) {
			if a.addr == b.addr {
				t.Errorf("two kits share an address: %s of one and %s of the other on %s", a.name, b.name, a.addr)
			}
		}
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
		for _, what := range endpoints(envs[i]) {
			if what.answers() == nil {
				t.Errorf("kit %d: %s still answers on %s", i, what.name, what.addr)
			}
		}
	}
}

// kitBinary builds the CLI once for the tests that run it as a process.
var kitBinary = func() func(t *testing.T) string {
	var once sync.Once
	var bin string
	var err error
	return func(t *testing.T) string {
		t.Helper()
		once.Do(func() { bin, err = goBuild(".", "threefactor") })
		if err != nil {
			t.Fatal(err)
		}
		return bin
	}
}()

// goBuild builds package pkg into a new temporary directory (left for the OS to clean: tests share
// it) as name.
func goBuild(pkg, name string) (string, error) {
	dir, err := os.MkdirTemp("", "threefactor-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// readEnv reads a kit's env file.
func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		if !ok {
			t.Fatalf("%s: line %q is not KEY=VALUE", path, line)
		}
		env[k] = v
	}
	return env
}

// endpoint is one address of a kit and how to tell that it answers.
type endpoint struct {
	name, addr string
	answers    func() error
}

// endpoints lists every address a kit's env file names, each with a call its emulator answers.
func endpoints(env map[string]string) []endpoint {
	var out []endpoint
	if u := env["AWS_ENDPOINT_URL"]; u != "" {
		out = append(out, endpoint{"moto", u, func() error { return get(http.DefaultClient, u+"/moto-api/data.json") }})
	}
	if h := env["PUBSUB_EMULATOR_HOST"]; h != "" {
		out = append(out, endpoint{"Pub/Sub (proxy)", h, func() error {
			_, err := listTopics(h, env["GOOGLE_CLOUD_PROJECT"])
			return err
		}})
	}
	if h := env["FIRESTORE_EMULATOR_HOST"]; h != "" {
		out = append(out, endpoint{"Firestore emulator", h, func() error { return get(http.DefaultClient, "http://"+h+"/") }})
	}
	if u := env["TF_VAR_threefactor_azure_endpoint"]; u != "" {
		out = append(out, endpoint{"Azure Resource Manager", u, func() error {
			pem, err := os.ReadFile(env["SSL_CERT_FILE"])
			if err != nil {
				return err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return errors.New("SSL_CERT_FILE holds no certificate")
			}
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			return get(c, env["AZURE_AUTHORITY_HOST"]+env["AZURE_TENANT_ID"]+"/v2.0/.well-known/openid-configuration")
		}})
	}
	return out
}

func get(c *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// listTopics lists a project's topics through the Pub/Sub emulator (or proxy) at host.
func listTopics(host, project string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := pubsub.NewTopicAdminClient(ctx, gcloud.ClientOptions(host)...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	var names []string
	it := c.ListTopics(ctx, &pubsubpb.ListTopicsRequest{Project: "projects/" + project})
	for {
		tp, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names = append(names, tp.GetName())
	}
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

func answers(url string) bool { return get(http.DefaultClient, url+"/moto-api/data.json") == nil }
