package runner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Options configure a run.
type Options struct {
	// Endpoint is the AWS emulator's URL (AWS_ENDPOINT_URL of the emulator kit); AWS handlers
	// are not run without it.
	Endpoint string
	// AzureHTTP reaches Service Bus namespaces (https://<namespace>.servicebus.windows.net): nil is
	// a client that honours HTTPS_PROXY (the emulator kit's, which tunnels namespaces to its fake)
	// and SSL_CERT_FILE.
	AzureHTTP *http.Client
	// AzureCredential gets the Service Bus data plane's tokens: nil is DefaultAzureCredential (at
	// AZURE_AUTHORITY_HOST when set).
	AzureCredential azcore.TokenCredential
	// CosmosEndpoint, host:port of a Cosmos DB emulator, replaces the account host of every
	// cosmos:// URL in an Azure handler's environment (THREEFACTOR_DEDUP_STORE and granted tables).
	CosmosEndpoint string
	// PubSubHost and FirestoreHost are the Google emulators' host:port (PUBSUB_EMULATOR_HOST and
	// FIRESTORE_EMULATOR_HOST of the emulator kit); Google handlers are not run without them.
	PubSubHost, FirestoreHost string
	// Only names the handlers to deliver to; all when empty.
	Only []string
	// UntilDrained stops the run once every handler's trigger is empty and no delivery is running.
	UntilDrained bool
	// Progress receives the counts: a table redrawn in place when TTY, JSON lines otherwise.
	Progress io.Writer
	TTY      bool
	// Log receives the runner's notes and the handlers' own output, each line prefixed with the
	// handler's name.
	Log io.Writer
	// Tick is how often queues are checked and the table redrawn: 200 ms when zero.
	Tick time.Duration
	// Concurrency, when positive, caps every handler's concurrent batches below its
	// max_concurrency: 1 runs one batch at a time (moto loses items under concurrent
	// TransactWriteItems).
	Concurrency int64
}

// delivery plays one handler's trigger as its cloud does; a file per cloud implements it.
type delivery interface {
	// worker takes messages and hands them to a process of its own, until ctx ends; Run starts
	// concurrency() of them.
	worker(ctx context.Context)
	concurrency() int64
	// drained reports whether nothing is waiting, in flight or being handled.
	drained(ctx context.Context) bool
	// deadLettered returns how many messages were dead-lettered since the delivery started, when
	// the delivery counts them by reading the dead-letter queue (ok false when it counts them
	// itself as it delivers, or cannot read now).
	deadLettered(ctx context.Context) (n int64, ok bool)
}

// enabledNote says what takes an enabled handler's messages instead of the runner.
var enabledNote = map[string]string{
	"aws": "the emulator's own event source mapping consumes its queue (moto deletes the messages with no code run)",
	"gcp": "its push subscription pushes to the function's URL, not to this machine",
}

// newDelivery prepares h's delivery: its code unpacked under tmp, how to run it, and its trigger's
// client. The note says which local runtime stands in for the handler's.
func newDelivery(ctx context.Context, h *Handler, opts Options, tmp string, prog *progress, log func(string)) (delivery, string, error) {
	// No Functions host runs against Azure's emulator: the runner delivers while the trigger is
	// enabled, as a paused entity takes no receivers.
	if h.Enabled && h.Cloud != "azure" {
		return nil, "", fmt.Errorf("trigger.enabled is true: %s; set trigger.enabled = false to let the runner deliver", enabledNote[h.Cloud])
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, "", err
	}
	dir := h.SourceDir
	if h.SourceZip != "" {
		dir = filepath.Join(tmp, "code")
		if err := unzip(h.SourceZip, dir); err != nil {
			return nil, "", err
		}
	}
	switch h.Cloud {
	case "aws":
		return newAWS(ctx, h, opts.Endpoint, dir, tmp, prog, log)
	case "gcp":
		return newGCP(ctx, h, opts, dir, tmp, prog, log)
	case "azure":
		return newAzure(ctx, h, opts, dir, tmp, prog, log)
	}
	return nil, "", fmt.Errorf("delivery on %s is not in the runner yet", h.Cloud)
}

// Run delivers to handlers until ctx ends or, with UntilDrained, every trigger is drained, and
// returns every handler's counts. An error means the run could not start.
func Run(ctx context.Context, handlers []Handler, opts Options) ([]Stats, error) {
	if opts.Tick <= 0 {
		opts.Tick = 200 * time.Millisecond
	}
	for _, n := range opts.Only {
		if !slices.ContainsFunc(handlers, func(h Handler) bool { return h.Name == n }) {
			return nil, fmt.Errorf("no handler %q in the state", n)
		}
	}
	tmp, err := os.MkdirTemp("", "threefactor-run-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	prog := newProgress(opts.Progress, opts.Log, opts.TTY)
	logf := prog.log
	type running struct {
		name string
		d    delivery
	}
	var ds []running
	for i := range handlers {
		h := &handlers[i]
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, h.Name) {
			continue
		}
		d, note, err := newDelivery(ctx, h, opts, filepath.Join(tmp, strconv.Itoa(i)), prog, func(l string) { logf(h.Name, l) })
		if err != nil {
			prog.add(h.Name, "not run", err.Error())
			logf(h.Name, "not run: "+err.Error())
			continue
		}
		logf(h.Name, note)
		prog.add(h.Name, "running", "")
		ds = append(ds, running{h.Name, d})
	}

	if len(ds) == 0 { // nothing can run: say so at once rather than wait for nothing
		prog.draw(true)
		return prog.snapshot(), nil
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for _, r := range ds {
		n := r.d.concurrency()
		if opts.Concurrency > 0 {
			n = min(n, opts.Concurrency)
		}
		for range n {
			wg.Go(func() { r.d.worker(wctx) })
		}
	}
	deadLettered := func(ctx context.Context, r running) {
		if n, ok := r.d.deadLettered(ctx); ok {
			prog.update(r.name, func(s *Stats) { s.DeadLettered = n })
		}
	}
	state := "stopped"
	quiet := 0 // consecutive checks that found every trigger drained
loop:
	for {
		prog.draw(false)
		drained := true
		for _, r := range ds {
			deadLettered(ctx, r)
			drained = r.d.drained(ctx) && drained
		}
		if drained {
			quiet++
		} else {
			quiet = 0
		}
		if opts.UntilDrained && quiet >= 2 {
			state = "drained"
			break
		}
		select {
		case <-ctx.Done():
			break loop
		case <-time.After(opts.Tick):
		}
	}
	stop()
	wg.Wait()
	for _, r := range ds {
		deadLettered(context.WithoutCancel(ctx), r)
		prog.update(r.name, func(s *Stats) { s.State = state })
		if c, ok := r.d.(interface{ close() }); ok { // a delivery holding a client
			c.close()
		}
	}
	prog.draw(true)
	return prog.snapshot(), nil
}

// Failed reports whether anything failed in a run: a failed delivery, a dead-lettered message,
// or a handler that could not run.
func Failed(stats []Stats) bool {
	for _, s := range stats {
		if s.Failed > 0 || s.DeadLettered > 0 || s.State == "not run" {
			return true
		}
	}
	return false
}
