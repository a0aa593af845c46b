package runner

import (
	"archive/zip"
	"bufio"
	"context"
	"debug/elf"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/lambdaruntime"
)

var (
	//go:embed wrappers/node.js
	nodeWrapper []byte
	//go:embed wrappers/python.py
	pythonWrapper []byte
	//go:embed wrappers/azure-node.js
	azureNodeWrapper []byte
)

// initLimit is how long a process may take to ask for its first invocation (Lambda's init phase).
const initLimit = 10 * time.Second

// process is how a handler's code runs here: the command, and what stands in for its runtime.
type process struct {
	argv []string
	// note says which local runtime stands in for the handler's, for the user.
	note string
}

// prepare finds how to run h's code from dir (its unpacked code) and writes the runtime
// wrappers into tmp. An error says why the handler cannot run here and what would make it run.
func prepare(h *Handler, dir, tmp string) (process, error) {
	switch {
	case h.Runtime == "go":
		bootstrap := filepath.Join(dir, "bootstrap")
		if err := checkExecutable(bootstrap, "-tags lambda.norpc -o bootstrap"); err != nil {
			return process{}, err
		}
		return process{argv: []string{bootstrap}, note: "go: " + bootstrap + " runs as is"}, nil
	case strings.HasPrefix(h.Runtime, "nodejs"):
		return interpreted(h, tmp, "node", "node.js", nodeWrapper, []string{"--version"})
	case strings.HasPrefix(h.Runtime, "python"):
		return interpreted(h, tmp, "python3", "python.py", pythonWrapper, []string{"--version"})
	case h.Runtime == "java21":
		found := "no java on PATH"
		if out, err := exec.Command("java", "-version").CombinedOutput(); err == nil {
			found = "java here is " + strings.SplitN(string(out), "\n", 2)[0]
		}
		return process{}, fmt.Errorf("java21 handlers are not run locally: they need a Java 21 runtime (%s) and the Lambda Java runtime interface client, which the runner does not ship; its events stay in its queue", found)
	}
	return process{}, fmt.Errorf("runtime %q is not one the runner knows", h.Runtime)
}

// interpreted runs the embedded wrapper for a Node.js or Python handler with the interpreter on
// PATH, whatever its version: the note says which version stands in for the handler's runtime.
func interpreted(h *Handler, tmp, bin, name string, wrapper []byte, versionArgs []string) (process, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return process{}, fmt.Errorf("%s needs %s on PATH to run here", h.Runtime, bin)
	}
	out, err := exec.Command(path, versionArgs...).CombinedOutput()
	if err != nil {
		return process{}, fmt.Errorf("%s --version: %v", path, err)
	}
	file := filepath.Join(tmp, name)
	if err := os.WriteFile(file, wrapper, 0o600); err != nil {
		return process{}, err
	}
	return process{argv: []string{path, file}, note: fmt.Sprintf("%s %s stands in for %s", bin, strings.TrimSpace(string(out)), h.Runtime)}, nil
}

var elfArch = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64", elf.EM_386: "386", elf.EM_ARM: "arm"}

// checkExecutable refuses a binary that cannot run on this machine, saying how to build one (with
// the go build flags buildFlags).
func checkExecutable(path, buildFlags string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("the go runtime runs the package's executable: %w", err)
	}
	if st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not executable (chmod +x it)", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil // a script, say: the kernel decides
	}
	defer func() { _ = f.Close() }()
	if arch := elfArch[f.Machine]; arch != runtime.GOARCH || runtime.GOOS != "linux" {
		return fmt.Errorf("%s is built for linux/%s, this machine is %s/%s: build it for the host to run it locally (GOARCH=%s CGO_ENABLED=0 go build %s)",
			path, arch, runtime.GOOS, runtime.GOARCH, runtime.GOARCH, buildFlags)
	}
	return nil
}

// unzip extracts a code zip into dir, keeping the execute bits.
func unzip(zipPath, dir string) error {
	r, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("function.source_zip: %w", err)
	}
	defer func() { _ = r.Close() }()
	for _, f := range r.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("function.source_zip: entry %q leaves the archive's directory", f.Name)
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := extract(f, dst); err != nil {
			return err
		}
	}
	return nil
}

func extract(f *zip.File, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := f.Open()
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, f.Mode().Perm()|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// child is one running process of a handler's code, in a process group of its own that dies
// with the runner: no process outlives a run.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited closes
	output sync.WaitGroup
}

// spawn runs argv in dir with env, sending each line it writes to line.
func spawn(argv []string, dir string, env []string, line func(string)) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	for _, r := range []io.Reader{stdout, stderr} {
		c.output.Go(func() {
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line(sc.Text())
			}
		})
	}
	go func() {
		c.output.Wait() // Wait closes the pipes: read them to the end first
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// alive reports whether the process still runs.
func (c *child) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// kill kills the process group and waits for it.
func (c *child) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
}

// sandbox is one running process of a handler behind its own runtime API, as one Lambda
// execution environment: it serves one invocation at a time.
type sandbox struct {
	*child
	api *lambdaruntime.Server
}

// start runs p for h in dir with env, sending each line it writes to line.
func start(h *Handler, p process, dir string, env []string, line func(string)) (*sandbox, error) {
	api, err := lambdaruntime.New(h.FunctionARN)
	if err != nil {
		return nil, err
	}
	// A copy: workers share env, and an append into its spare capacity would give two processes
	// one runtime API.
	c, err := spawn(p.argv, dir, append(slices.Clip(env), "AWS_LAMBDA_RUNTIME_API="+api.Addr()), line)
	if err != nil {
		api.Close()
		return nil, err
	}
	return &sandbox{child: c, api: api}, nil
}

// errCrashed is the cause of an invocation whose process exited.
var errCrashed = errors.New("the process exited")

// invoke runs one invocation with h's timeout. A timeout or a crash is an error, after which the
// sandbox is stopped (Lambda discards the environment).
func (s *sandbox) invoke(ctx context.Context, event []byte, timeout time.Duration) (lambdaruntime.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-s.exited:
			cancel(errCrashed)
		case <-ctx.Done():
		}
	}()
	// The init phase has a limit of its own, like Lambda's.
	ictx, icancel := context.WithTimeout(ctx, initLimit+timeout)
	defer icancel()
	resp, err := s.api.Invoke(ictx, event, timeout)
	switch {
	case errors.Is(context.Cause(ctx), errCrashed):
		s.stop() // its runtime API too
		return resp, fmt.Errorf("the process exited (%v) during the invocation", s.err)
	case err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		s.stop()
		return resp, fmt.Errorf("the process did not ask for an invocation within the init limit (%s)", initLimit)
	case errors.Is(err, lambdaruntime.ErrTimeout):
		s.stop()
		return resp, fmt.Errorf("timed out after %s (function.timeout_s): killed", timeout)
	case err != nil:
		s.stop()
		return resp, err
	}
	return resp, nil
}

// stop kills the process group and closes its runtime API.
func (s *sandbox) stop() {
	s.kill()
	s.api.Close()
}

// baseEnv is the environment Lambda gives every function, for h in region, with the emulator's
// endpoint and credentials.
func baseEnv(h *Handler, taskRoot, endpoint string, creds []string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TZ=:UTC", "LANG=en_US.UTF-8",
		"AWS_REGION=" + h.Region, "AWS_DEFAULT_REGION=" + h.Region, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_LAMBDA_FUNCTION_NAME=" + h.Name, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.FormatInt(h.MemoryMB, 10),
		"LAMBDA_TASK_ROOT=" + taskRoot, "_HANDLER=" + h.EntryPoint,
		"THREEFACTOR_OUTCOME_LOG=stderr",
		// Lambda's code directory is read-only: no __pycache__ written into the user's sources.
		"PYTHONDONTWRITEBYTECODE=1",
	}
	env = append(env, creds...)
	for k, v := range h.Env {
		env = append(env, k+"="+v)
	}
	return env
}
