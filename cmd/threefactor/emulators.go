package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The emulator kit: the emulators a configuration's tests need, on free loopback ports, with an env
// file telling the provider and the SDKs where they are. Two kits on one machine never meet: each
// has its own ports and its own state directory.
//
//	threefactor emulators run [--cloud C] [--env-file F] -- COMMAND...   runs COMMAND with the kit, then stops it
//	threefactor emulators start [--cloud C] --dir D                      starts a kit in the background
//	threefactor emulators stop --dir D                                   stops it, leaving no process behind
//
// --cloud lists the clouds to emulate (aws by default; aws,gcp,azure for all three): AWS is moto,
// configured with use_docker false (an enabled event source mapping then takes messages off its
// queue as they arrive and deletes them with no code run; see trigger.enabled to keep them);
// Google is the Pub/Sub and Firestore emulators of google-cloud-cli with the fakes of the APIs that
// have no emulator behind one proxy (package gcpstack); Azure is the fake Resource Manager (package
// azurefake) over HTTPS with a test CA. Every emulator process runs in a process group of its own
// and dies with the kit, even when the kit is killed outright (Pdeathsig).
const emulatorsUsage = `usage: threefactor emulators run [--cloud aws,gcp,azure] [--env-file FILE] -- COMMAND [ARG...]
       threefactor emulators start [--cloud aws,gcp,azure] --dir DIR
       threefactor emulators stop --dir DIR`

// Files of a kit's state directory.
const (
	envFile = "env"
	pidFile = "pid"
	logFile = "log"
)

func emulators(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		_, _ = fmt.Fprintln(stderr, emulatorsUsage)
		return 2
	}
	fs := flag.NewFlagSet("threefactor emulators "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the kit's state directory (start, stop)")
	env := fs.String("env-file", "", "also write the kit's environment to this file (run)")
	cloudList := fs.String("cloud", "aws", "comma-separated clouds to emulate: "+strings.Join(kitClouds, ", ")+" (run, start)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	clouds, err := parseClouds(*cloudList)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 2
	}
	switch {
	case args[0] == "run" && fs.NArg() > 0:
		return runWithKit(ctx, clouds, fs.Args(), *env, stdout, stderr)
	case args[0] == "start" && *dir != "":
		err = startKit(*dir, *cloudList, stdout)
	case args[0] == "stop" && *dir != "":
		err = stopKit(*dir)
	case args[0] == "serve" && *dir != "": // the background half of start
		err = serveKit(ctx, *dir, clouds)
	default:
		_, _ = fmt.Fprintln(stderr, emulatorsUsage)
		return 2
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 1
	}
	return 0
}

func writeEnv(path string, env []string) error {
	return os.WriteFile(path, []byte(strings.Join(env, "\n")+"\n"), 0o600)
}

// runWithKit runs command with the kit's environment and stops the kit when it ends, returning
// its exit status.
func runWithKit(ctx context.Context, clouds, command []string, envPath string, stdout, stderr io.Writer) int {
	dir, err := os.MkdirTemp("", "threefactor-kit-")
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	k, err := startEmulators(ctx, dir, clouds)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 1
	}
	defer k.close()
	_, _ = fmt.Fprint(stderr, k.notes())
	if envPath != "" {
		if err := writeEnv(envPath, k.env); err != nil {
			_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
			return 1
		}
	}
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = append(os.Environ(), k.env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 1
	}
	return 0
}

// startKit starts `threefactor emulators serve --dir dir` in a session of its own and waits until
// it has written the env file, which it prints the path of.
func startKit(dir, clouds string, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if pid, err := readPid(dir); err == nil && alive(pid) {
		return fmt.Errorf("a kit already runs for %s (pid %d): stop it first", dir, pid)
	}
	_ = os.Remove(filepath.Join(dir, envFile))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(dir, logFile))
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }() // the child holds its own copy
	cmd := exec.Command(self, "emulators", "serve", "--cloud", clouds, "--dir", dir)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		if _, err := os.Stat(filepath.Join(dir, envFile)); err == nil {
			_, _ = fmt.Fprintln(stdout, filepath.Join(dir, envFile))
			return nil
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(filepath.Join(dir, logFile))
			return fmt.Errorf("the kit stopped before it was ready (%v):\n%s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	return fmt.Errorf("the kit was not ready within 60 s; its log is %s", filepath.Join(dir, logFile))
}

// serveKit runs the kit until interrupted, with its pid and env file in dir.
func serveKit(ctx context.Context, dir string, clouds []string) error {
	k, err := startEmulators(ctx, dir, clouds)
	if err != nil {
		return err
	}
	defer k.close()
	defer func() { _ = os.Remove(filepath.Join(dir, caFile)) }()
	_, _ = fmt.Fprint(os.Stderr, k.notes())
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer func() { _ = os.Remove(filepath.Join(dir, pidFile)) }()
	// The env file last: its presence says the kit is ready.
	if err := writeEnv(filepath.Join(dir, envFile), k.env); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// stopKit interrupts the kit of dir and waits until it has stopped its emulators and exited.
func stopKit(dir string) error {
	pid, err := readPid(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // not running
	}
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !alive(pid) {
			_ = os.Remove(filepath.Join(dir, envFile))
			return nil
		}
	}
	return fmt.Errorf("the kit (pid %d) did not stop within 30 s", pid)
}

func readPid(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: Z is a zombie.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
