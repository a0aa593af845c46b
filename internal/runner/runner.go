package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Options configure a run.
type Options struct {
	// Endpoint is the emulator's URL (AWS_ENDPOINT_URL of the emulator kit); required.
	Endpoint string
	// Only names the handlers to deliver to; all when empty.
	Only []string
	// UntilDrained stops the run once every handler's queue is empty and no batch is running.
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

// Run delivers to handlers until ctx ends or, with UntilDrained, every queue is drained, and
// returns every handler's counts. An error means the run could not start.
func Run(ctx context.Context, handlers []Handler, opts Options) ([]Stats, error) {
	if opts.Endpoint == "" {
		return nil, errors.New("no emulator endpoint: set AWS_ENDPOINT_URL (threefactor emulators run sets it) or pass --endpoint; the runner delivers only against emulators")
	}
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
	var ds []*deliverer
	for i := range handlers {
		h := &handlers[i]
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, h.Name) {
			continue
		}
		d, note, err := newDeliverer(ctx, h, opts.Endpoint, filepath.Join(tmp, strconv.Itoa(i)), prog, func(l string) { logf(h.Name, l) })
		if err != nil {
			prog.add(h.Name, "not run", err.Error())
			logf(h.Name, "not run: "+err.Error())
			continue
		}
		logf(h.Name, note)
		prog.add(h.Name, "running", "")
		ds = append(ds, d)
	}

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for _, d := range ds {
		n := d.h.MaxConcurrency
		if n <= 0 {
			n = defaultConcurrency
		}
		if opts.Concurrency > 0 {
			n = min(n, opts.Concurrency)
		}
		for range n {
			wg.Go(func() { d.worker(wctx) })
		}
	}
	dlq0 := make([]int64, len(ds))
	for i, d := range ds {
		dlq0[i], _, _ = d.depth(ctx, d.h.DeadLetterURL)
	}
	state := "stopped"
	quiet := 0 // consecutive checks that found every queue drained
loop:
	for {
		prog.draw(false)
		drained := true
		for i, d := range ds {
			if n, _, err := d.depth(ctx, d.h.DeadLetterURL); err == nil && n != dlq0[i] {
				prog.update(d.h.Name, func(s *Stats) { s.DeadLettered = max(n-dlq0[i], 0) })
			}
			n, inFlight, err := d.depth(ctx, d.h.QueueURL)
			drained = drained && err == nil && n+inFlight == 0 && d.busy.Load() == 0
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
	for i, d := range ds {
		n, _, err := d.depth(context.WithoutCancel(ctx), d.h.DeadLetterURL)
		prog.update(d.h.Name, func(s *Stats) {
			if err == nil {
				s.DeadLettered = max(n-dlq0[i], 0)
			}
			s.State = state
		})
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

func newDeliverer(ctx context.Context, h *Handler, endpoint, tmp string, prog *progress, log func(string)) (*deliverer, string, error) {
	switch {
	case h.Cloud != "aws":
		return nil, "", fmt.Errorf("delivery on %s is not in the runner yet (AWS only)", h.Cloud)
	case h.Enabled:
		return nil, "", errors.New("trigger.enabled is true: the emulator's own event source mapping consumes its queue (moto deletes the messages with no code run); set trigger.enabled = false to let the runner deliver")
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
	proc, err := prepare(h, dir, tmp)
	if err != nil {
		return nil, "", err
	}
	id, secret, token := Credentials()
	client := sqs.New(sqs.Options{
		Region: h.Region, BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider(id, secret, token),
	})
	d := &deliverer{
		h: h, sqs: client, queueARN: QueueARN(h.QueueURL, h.Region), proc: proc, dir: dir, prog: prog, log: log,
		env: baseEnv(h, dir, endpoint, []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=" + token}),
	}
	if _, _, err := d.depth(ctx, h.QueueURL); err != nil {
		return nil, "", fmt.Errorf("reading its queue %s at %s: %w (is the emulator that the state was applied to running?)", h.QueueURL, endpoint, err)
	}
	return d, proc.note, nil
}

// Credentials are the environment's static credentials, or an emulator's dummy ones: never the
// SDK's chain, which would probe the instance-metadata address.
func Credentials() (id, secret, token string) {
	id, secret = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return "test", "test", ""
	}
	return id, secret, os.Getenv("AWS_SESSION_TOKEN")
}

// depth returns a queue's visible (and delayed) and in-flight message counts.
func (d *deliverer) depth(ctx context.Context, queueURL string) (visible, inFlight int64, err error) {
	out, err := d.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &queueURL, AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}})
	if err != nil {
		return 0, 0, err
	}
	n := func(k sqstypes.QueueAttributeName) int64 {
		v, _ := strconv.ParseInt(out.Attributes[string(k)], 10, 64)
		return v
	}
	return n(sqstypes.QueueAttributeNameApproximateNumberOfMessages) + n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed),
		n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible), nil
}
