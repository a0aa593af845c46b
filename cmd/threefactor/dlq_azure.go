package main

import (
	"context"
	"fmt"
	"io"

	"github.com/threefactor/terraform-provider-threefactor/internal/dlq"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner"
)

// dlqAzure runs a dlq operation on an azure handler's <name>--dlq queue, over Service Bus's HTTP
// data plane with DefaultAzureCredential (HTTPS_PROXY and SSL_CERT_FILE as the emulator kit sets
// them).
func dlqAzure(ctx context.Context, h *runner.Handler, op string, ids []string, stdout, stderr io.Writer) error {
	client, dl, err := runner.AzureClient(runner.Options{}, h.DeadLetterURL)
	if err != nil {
		return err
	}
	_, source, err := runner.SplitEntityURL(h.QueueURL)
	if err != nil {
		return err
	}
	q := dlq.ServiceBus{Client: client, Source: source, DeadLetter: dl}
	switch op {
	case "list":
		msgs, total, err := q.List(ctx, listLimit)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "threefactor: %d of %d dead-lettered messages of %s (the HTTP data plane lists by receiving with a lock, which counts a delivery on %s)\n", len(msgs), total, h.Name, dl)
		return printMessages(stdout, msgs)
	case "replay":
		if h.Kind == "topic" {
			return fmt.Errorf("handler %s consumes a topic subscription (%s): Service Bus takes messages only on queues and topics, and a copy sent to the topic would reach every subscription; list the dead letters and publish them again, or purge them", h.Name, source)
		}
		moved, err := q.Replay(ctx, ids)
		printReplayed(stdout, moved)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "threefactor: replayed %d messages to %s\n", len(moved), h.QueueURL)
	case "purge":
		n, err := q.Purge(ctx)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "threefactor: purged %d messages from the dead-letter queue of %s\n", n, h.Name)
	}
	return nil
}
