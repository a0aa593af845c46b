package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
	"github.com/threefactor/terraform-provider-threefactor/internal/dlq"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner"
)

// dlqGCP lists, replays or purges a Google handler's dead letters in the Pub/Sub emulator.
func dlqGCP(ctx context.Context, sf stateFlags, h *runner.Handler, op string, ids []string, stdout, stderr io.Writer) error {
	if sf.pubsub == "" {
		return errors.New("no Pub/Sub emulator: set PUBSUB_EMULATOR_HOST or pass --pubsub")
	}
	subs, err := runner.PubSubClient(ctx, sf.pubsub)
	if err != nil {
		return err
	}
	defer func() { _ = subs.Close() }()
	topics, err := pubsub.NewTopicAdminClient(ctx, gcloud.ClientOptions(sf.pubsub)...)
	if err != nil {
		return err
	}
	defer func() { _ = topics.Close() }()
	s := dlq.Subscriptions{Subs: subs, Topics: topics, Topic: h.Topic, DeadLetter: h.DeadLetterSubscription}
	switch op {
	case "list":
		msgs, err := s.List(ctx, listLimit)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "threefactor: %d dead letters of %s (at most %d; Pub/Sub lists only by pulling)\n", len(msgs), h.Name, listLimit)
		enc := json.NewEncoder(stdout)
		for _, m := range msgs {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
	case "replay":
		moved, err := s.Replay(ctx, ids)
		for _, id := range moved {
			_, _ = fmt.Fprintf(stdout, "replayed %s\n", id)
		}
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "threefactor: replayed %d messages to %s\n", len(moved), h.Topic)
	case "purge":
		n, err := s.Purge(ctx)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "threefactor: purged %d dead letters of %s\n", n, h.Name)
	}
	return nil
}
