// Command threefactor is the project's command-line tool.
//
//	threefactor fake gcp [--addr 127.0.0.1:PORT] [--project ID] [--project-number N]
//
// runs the fakes of the Google APIs that have no emulator (package acctest/gcpfake) until
// interrupted. It prints the gRPC address on the first line of standard output, for scripts, and
// what it serves on standard error.
//
//	threefactor emulators run [--env-file FILE] -- COMMAND...
//	threefactor emulators start --dir DIR
//	threefactor emulators stop --dir DIR
//
// is the emulator kit for users' CI (see emulators.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcpfake"
)

const usage = `usage: threefactor fake gcp [--addr 127.0.0.1:PORT] [--project ID] [--project-number N]
` + emulatorsUsage

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status: 0, 1 on failure, 2 on misuse.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "emulators" {
		return emulators(ctx, args[1:], stdout, stderr)
	}
	if len(args) < 2 || args[0] != "fake" || args[1] != "gcp" {
		_, _ = fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("threefactor fake gcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "gRPC listen address of the fakes (port 0 picks a free one)")
	project := fs.String("project", gcpfake.DefaultProject, "id of the one project the fakes serve")
	number := fs.Int64("project-number", gcpfake.DefaultProjectNumber, "number of that project")
	if err := fs.Parse(args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintln(stderr, usage)
		return 2
	}
	err := gcpfake.Serve(ctx, *addr, gcpfake.Options{Project: *project, ProjectNumber: *number}, func(s *gcpfake.Server) {
		_, _ = fmt.Fprintln(stdout, s.Addr())
		_, _ = fmt.Fprintf(stderr, "threefactor: Google fakes for project %s (number %d) on %s; upload URLs and function URIs on %s; interrupt to stop\n",
			s.Project(), s.ProjectNumber(), s.Addr(), s.HTTPURL())
	})
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 1
	}
	return 0
}
