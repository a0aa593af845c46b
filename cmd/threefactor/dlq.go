package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/threefactor/terraform-provider-threefactor/internal/dlq"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner"
)

// listLimit is the most messages `dlq list` shows.
const listLimit = 100

// dlqCmd runs `threefactor dlq HANDLER list|replay [ID...]|purge`.
func dlqCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("threefactor dlq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf stateFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) < 2 || (rest[1] != "replay" && len(rest) > 2) || !strings.Contains(" list replay purge ", " "+rest[1]+" ") {
		_, _ = fmt.Fprintln(stderr, runUsage)
		return 2
	}
	if err := dlqRun(ctx, sf, rest[0], rest[1], rest[2:], stdout, stderr); err != nil {
		_, _ = fmt.Fprintf(stderr, "threefactor: %v\n", err)
		return 1
	}
	return 0
}

func dlqRun(ctx context.Context, sf stateFlags, name, op string, ids []string, stdout, stderr io.Writer) error {
	hs, err := sf.handlers(ctx)
	if err != nil {
		return err
	}
	var h *runner.Handler
	for i := range hs {
		if hs[i].Name == name {
			h = &hs[i]
		}
	}
	switch {
	case h == nil:
		return fmt.Errorf("no handler %q in the state", name)
	case h.Cloud == "gcp":
		return dlqGCP(ctx, sf, h, op, ids, stdout, stderr)
	case h.Cloud == "azure":
		return dlqAzure(ctx, h, op, ids, stdout, stderr)
	case h.Cloud != "aws":
		return fmt.Errorf("handler %s is on %s: dead-letter replay is on AWS, Google Cloud and Azure only for now", name, h.Cloud)
	case sf.endpoint == "":
		return errors.New("no endpoint: set AWS_ENDPOINT_URL or pass --endpoint")
	}
	q := dlq.Queues{
		SQS:    sqs.New(sqs.Options{Region: h.Region, BaseEndpoint: aws.String(sf.endpoint), Credentials: credentials.NewStaticCredentialsProvider(runner.Credentials())}),
		Source: h.QueueURL, DeadLetter: h.DeadLetterURL,
		DeadLetterARN: runner.QueueARN(h.DeadLetterURL, h.Region), SourceARN: runner.QueueARN(h.QueueURL, h.Region),
	}
	switch op {
	case "list":
		msgs, total, err := q.List(ctx, listLimit)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "threefactor: a sample of %d of about %d dead-lettered messages of %s (SQS lists only by receiving)\n", len(msgs), total, name)
		return printMessages(stdout, msgs)
	case "replay":
		moved, task, err := q.Replay(ctx, ids, func(s string) { _, _ = fmt.Fprintf(stderr, "threefactor: %s\n", s) })
		printReplayed(stdout, moved)
		if task != "" {
			_, _ = fmt.Fprintf(stdout, "move task %s started: SQS moves every message back to %s\n", task, h.QueueURL)
		}
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "threefactor: replayed %d messages to %s\n", len(moved), h.QueueURL)
	case "purge":
		if err := q.Purge(ctx); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "threefactor: purged the dead-letter queue of %s\n", name)
	}
	return nil
}

func printMessages(w io.Writer, msgs []dlq.Message) error {
	enc := json.NewEncoder(w)
	for _, m := range msgs {
		if err := enc.Encode(m); err != nil {
			return err
		}
	}
	return nil
}

func printReplayed(w io.Writer, ids []string) {
	for _, id := range ids {
		_, _ = fmt.Fprintf(w, "replayed %s\n", id)
	}
}
