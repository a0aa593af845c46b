package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/runner"
)

// The local runner and dead-letter replay (see internal/runner and internal/dlq):
//
//	threefactor run [--chdir DIR] [--state FILE] [--until-drained] [--handler NAME]...
//	threefactor dlq [--chdir DIR] [--state FILE] HANDLER list|replay [ID...]|purge
//
// Both read the applied handlers with `tofu show -json` and reach the emulators at
// AWS_ENDPOINT_URL (or --endpoint), PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST (or --pubsub
// and --firestore), and Azure's Service Bus namespaces with DefaultAzureCredential through
// HTTPS_PROXY (the emulator kit's).
const runUsage = `usage: threefactor run [--chdir DIR] [--state FILE] [--tofu BIN] [--endpoint URL] [--pubsub HOST:PORT] [--firestore HOST:PORT] [--cosmos-endpoint HOST:PORT] [--until-drained] [--concurrency N] [--handler NAME]...
       threefactor dlq [--chdir DIR] [--state FILE] [--tofu BIN] [--endpoint URL] [--pubsub HOST:PORT] HANDLER list|replay [ID...]|purge`

// stateFlags are the flags that find the applied handlers and the emulator.
type stateFlags struct {
	dir, state, tofu, endpoint string
	// pubsub and firestore are the Google emulators' host:port.
	pubsub, firestore string
}

func (s *stateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dir, "chdir", ".", "the configuration's directory (where tofu init and apply ran)")
	fs.StringVar(&s.state, "state", "", "state file to read (tofu's default when unset)")
	tofu := os.Getenv("THREEFACTOR_TOFU")
	if tofu == "" {
		tofu = "tofu"
	}
	fs.StringVar(&s.tofu, "tofu", tofu, "OpenTofu or Terraform binary ($THREEFACTOR_TOFU)")
	fs.StringVar(&s.endpoint, "endpoint", os.Getenv("AWS_ENDPOINT_URL"), "the AWS emulator's URL ($AWS_ENDPOINT_URL)")
	fs.StringVar(&s.pubsub, "pubsub", os.Getenv("PUBSUB_EMULATOR_HOST"), "the Pub/Sub emulator's host:port, for Google handlers ($PUBSUB_EMULATOR_HOST)")
	fs.StringVar(&s.firestore, "firestore", os.Getenv("FIRESTORE_EMULATOR_HOST"), "the Firestore emulator's host:port, for Google handlers ($FIRESTORE_EMULATOR_HOST)")
}

func (s *stateFlags) handlers(ctx context.Context) ([]runner.Handler, error) {
	out, err := runner.ShowJSON(ctx, s.tofu, s.dir, s.state)
	if err != nil {
		return nil, err
	}
	return runner.Handlers(out, s.dir)
}

// names is a repeatable string flag.
type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

// runCmd runs `threefactor run`: 0 when nothing failed, 1 when a delivery failed, a message was
// dead-lettered or a handler could not run, 2 on misuse.
func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("threefactor run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf stateFlags
	sf.register(fs)
	var only names
	fs.Var(&only, "handler", "deliver to this handler only (repeatable; all by default)")
	cosmos := fs.String("cosmos-endpoint", os.Getenv("THREEFACTOR_COSMOS_ENDPOINT"), "host:port of a Cosmos DB emulator that azure handlers' dedup stores and tables are pointed at ($THREEFACTOR_COSMOS_ENDPOINT; its key in $THREEFACTOR_COSMOS_KEY)")
	drained := fs.Bool("until-drained", false, "stop once every handler's queue is empty and no batch runs")
	concurrency := fs.Int64("concurrency", 0, "at most this many batches of each handler at once, below its max_concurrency (1: one at a time, for emulators that are not safe for concurrent transactions, such as moto)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintln(stderr, runUsage)
		return 2
	}
	hs, err := sf.handlers(ctx)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 1
	}
	if len(hs) == 0 {
		_, _ = fmt.Fprintln(stderr, "threefactor: no threefactor_eventhandler in the state: apply a configuration first")
		return 1
	}
	stats, err := runner.Run(ctx, hs, runner.Options{
		Endpoint: sf.endpoint, PubSubHost: sf.pubsub, FirestoreHost: sf.firestore, CosmosEndpoint: *cosmos, Only: only, UntilDrained: *drained, Concurrency: *concurrency,
		Progress: stdout, TTY: isTerminal(stdout), Log: stderr,
	})
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 1
	}
	if runner.Failed(stats) {
		return 1
	}
	return 0
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
