// Command threefactor is the project's command-line tool. Its subcommands run the fakes of the
// cloud APIs that have no emulator until interrupted:
//
//	threefactor fake gcp [--addr 127.0.0.1:PORT] [--project ID] [--project-number N]
//
// runs the Google fakes (package acctest/gcpfake) and prints the gRPC address on the first line of
// standard output, for scripts;
//
//	threefactor fake azure [--addr 127.0.0.1:PORT] [--subscription ID] [--resource-group NAME]
//	    [--tenant ID] [--client-id ID --client-secret SECRET] [--ca-file PATH]
//	    [--retry-after DURATION] [--operation-delay DURATION]
//
// runs the fake Azure Resource Manager, token endpoint and SCM endpoint (package
// acctest/azurefake) over HTTPS and prints its address (host:port) on the first line of standard
// output and the path of its test CA's PEM on the second. Both say on standard error what they
// serve and, for Azure, the environment a client needs.
//
//	threefactor emulators run [--env-file FILE] -- COMMAND...
//	threefactor emulators start --dir DIR
//	threefactor emulators stop --dir DIR
//
// is the emulator kit for users' CI (see emulators.go);
//
//	threefactor run [--until-drained] ...
//	threefactor dlq HANDLER list|replay [ID...]|purge
//
// deliver events to the applied handlers on this machine and replay their dead letters (run.go).
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

	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/acctest/gcpfake"
)

const usage = `usage: threefactor fake gcp [--addr 127.0.0.1:PORT] [--project ID] [--project-number N]
       threefactor fake azure [--addr 127.0.0.1:PORT] [--subscription ID] [--resource-group NAME] [--tenant ID]
                              [--client-id ID --client-secret SECRET] [--ca-file PATH]
                              [--retry-after DURATION] [--operation-delay DURATION]
` + emulatorsUsage + "\n" + runUsage

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
	if len(args) > 0 && args[0] == "run" {
		return runCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "dlq" {
		return dlqCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) >= 2 && args[0] == "fake" && args[1] == "azure" {
		return runAzure(ctx, args[2:], stdout, stderr)
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

// runAzure runs `threefactor fake azure`.
func runAzure(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("threefactor fake azure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "HTTPS listen address of the fake (port 0 picks a free one)")
	sub := fs.String("subscription", azurefake.DefaultSubscription, "id (a GUID) of the subscription the fake serves")
	rg := fs.String("resource-group", azurefake.DefaultResourceGroup, "resource group that exists in it")
	tenant := fs.String("tenant", azurefake.DefaultTenant, "tenant of the token endpoint")
	clientID := fs.String("client-id", "", "the only client id the token endpoint accepts (any when unset)")
	secret := fs.String("client-secret", "", "its secret")
	caFile := fs.String("ca-file", "", "where to write the test CA's PEM (a temporary file when unset)")
	retryAfter := fs.Duration("retry-after", 0, "Retry-After of long-running operations (0: clients wait their own polling frequency; below a second sent as retry-after-ms)")
	opDelay := fs.Duration("operation-delay", 0, "least time a long-running operation runs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || (*clientID == "") != (*secret == "") {
		_, _ = fmt.Fprintln(stderr, usage)
		return 2
	}
	opts := azurefake.Options{
		Subscriptions: []string{*sub}, ResourceGroups: []string{*rg}, Tenant: *tenant,
		ClientID: *clientID, ClientSecret: *secret, CAFile: *caFile,
		RetryAfter: *retryAfter, OperationDelay: *opDelay,
	}
	err := azurefake.Serve(ctx, *addr, opts, func(s *azurefake.Server) {
		_, _ = fmt.Fprintln(stdout, s.Addr())
		_, _ = fmt.Fprintln(stdout, s.CAFile())
		_, _ = fmt.Fprintf(stderr, "threefactor: Azure fakes for subscription %s (resource group %s, tenant %s) on %s; interrupt to stop\n"+
			"  SSL_CERT_FILE=%s\n  AZURE_AUTHORITY_HOST=%s/ (disable instance discovery)\n  Resource Manager endpoint %s\n"+
			"  SCM hosts <site>.scm.%s: reach them with HTTPS_PROXY=%s\n",
			s.Subscription(), s.ResourceGroup(), s.Tenant(), s.Addr(), s.CAFile(), s.URL(), s.URL(), s.SCMSuffix(), s.URL())
	})
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 1
	}
	return 0
}
