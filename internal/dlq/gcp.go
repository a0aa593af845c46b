package dlq

import (
	"context"
	"fmt"
	"strconv"
	"time"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
)

// Subscriptions are a Google handler's dead letters: the pull subscription of its dead-letter
// topic, and the topic its push subscription consumes, to which a replay publishes (full names).
// Pub/Sub gives a dead letter a message id of its own: that id is the one List shows, Replay
// takes and a copy carries in OriginalMessageID (handler/pubsubpush takes it as the event id of a
// message without a CloudEvents identity, so a second copy is a duplicate).
type Subscriptions struct {
	Subs   *pubsub.SubscriptionAdminClient
	Topics *pubsub.TopicAdminClient
	Topic  string
	// DeadLetter is the dead-letter topic's subscription, whose ack deadline (60 s as the provider
	// makes it) holds a message while it is replayed.
	DeadLetter string
}

// List returns up to limit dead letters: Pub/Sub cannot list without pulling, so it pulls and
// nacks each message at once, until a pull brings no new one. A message whose nack fails is
// delivered again after the subscription's ack deadline, never lost.
func (s Subscriptions) List(ctx context.Context, limit int) ([]Message, error) {
	var msgs []Message
	seen := map[string]bool{}
	for len(msgs) < limit {
		got, err := s.receive(ctx)
		if err != nil {
			return msgs, err
		}
		added := false
		for _, m := range got {
			s.release(ctx, m)
			if id := m.GetMessage().GetMessageId(); !seen[id] && len(msgs) < limit {
				seen[id], added = true, true
				msgs = append(msgs, pubsubMessage(m))
			}
		}
		if !added {
			break
		}
	}
	return msgs, nil
}

func pubsubMessage(m *pubsubpb.ReceivedMessage) Message {
	msg := m.GetMessage()
	out := Message{ID: msg.GetMessageId(), Body: string(msg.GetData()), Attributes: msg.GetAttributes(), SentAt: msg.GetPublishTime().AsTime().UTC().Format("2006-01-02T15:04:05.000Z")}
	out.ReceiveCount, _ = strconv.Atoi(msg.GetAttributes()["CloudPubSubDeadLetterSourceDeliveryCount"])
	return out
}

// Replay publishes a copy of each dead letter with ids (every one when ids is empty) to the
// handler's topic, then acknowledges the dead letter, and returns the ids replayed. The copy keeps
// the data, every attribute (the ce-* ones and Pub/Sub's CloudPubSubDeadLetter* ones) and the
// ordering key, plus OriginalMessageID. It stops at the first error: the message in hand stays in
// the dead-letter subscription (the publish failed) or is in both (the acknowledgement failed),
// and the error says which. Every subscription of the topic gets the copy: on a topic other
// handlers share, theirs too (their dedup tables drop an event they applied by its CloudEvents
// identity; a message without one is new to them).
func (s Subscriptions) Replay(ctx context.Context, ids []string) ([]string, error) {
	return replay[*pubsubpb.ReceivedMessage](ctx, pubsubLetters{s}, ids)
}

// Purge acknowledges every dead letter, and returns how many.
func (s Subscriptions) Purge(ctx context.Context) (int, error) {
	n := 0
	for {
		got, err := s.receive(ctx)
		if err != nil || len(got) == 0 {
			return n, err
		}
		ack := make([]string, len(got))
		for i, m := range got {
			ack[i] = m.GetAckId()
		}
		if err := s.Subs.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: s.DeadLetter, AckIds: ack}); err != nil {
			return n, fmt.Errorf("acknowledging %d dead letters of %s: %w; they stay", len(ack), s.DeadLetter, err)
		}
		n += len(ack)
	}
}

// receive pulls up to 10 dead letters, waiting up to settle for the first: a message nacked a
// moment ago (by List) is delivered again only after a while (the emulator's about a second).
func (s Subscriptions) receive(ctx context.Context) ([]*pubsubpb.ReceivedMessage, error) {
	until := time.Now().Add(settle)
	for {
		out, err := s.Subs.Pull(ctx, &pubsubpb.PullRequest{Subscription: s.DeadLetter, MaxMessages: 10, ReturnImmediately: true}) //nolint:staticcheck // the emulator answers at once only so
		if err != nil {
			return nil, fmt.Errorf("pulling from the dead-letter subscription %s: %w", s.DeadLetter, err)
		}
		if len(out.GetReceivedMessages()) > 0 || time.Now().After(until) {
			return out.GetReceivedMessages(), nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// settle is how long a pull of the dead letters waits for a first message.
const settle = 2 * time.Second

// release nacks m: delivered again at once; failing leaves it held until its ack deadline.
func (s Subscriptions) release(ctx context.Context, m *pubsubpb.ReceivedMessage) {
	_ = s.Subs.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{Subscription: s.DeadLetter, AckIds: []string{m.GetAckId()}})
}

// pubsubLetters are a dead-letter subscription's messages as replay takes them.
type pubsubLetters struct{ s Subscriptions }

func (l pubsubLetters) where() string { return "the dead-letter subscription " + l.s.DeadLetter }

func (l pubsubLetters) receive(ctx context.Context) ([]*pubsubpb.ReceivedMessage, error) {
	return l.s.receive(ctx)
}
func (l pubsubLetters) id(m *pubsubpb.ReceivedMessage) string { return m.GetMessage().GetMessageId() }
func (l pubsubLetters) release(ctx context.Context, m *pubsubpb.ReceivedMessage) {
	l.s.release(ctx, m)
}

func (l pubsubLetters) replay(ctx context.Context, m *pubsubpb.ReceivedMessage) error {
	s, msg := l.s, m.GetMessage()
	attrs := map[string]string{}
	for k, v := range msg.GetAttributes() {
		attrs[k] = v
	}
	if attrs[OriginalMessageID] == "" {
		attrs[OriginalMessageID] = msg.GetMessageId()
	}
	if _, err := s.Topics.Publish(ctx, &pubsubpb.PublishRequest{Topic: s.Topic, Messages: []*pubsubpb.PubsubMessage{{
		Data: msg.GetData(), Attributes: attrs, OrderingKey: msg.GetOrderingKey(),
	}}}); err != nil {
		s.release(ctx, m)
		return fmt.Errorf("publishing a copy of %s to %s: %w; the message stays in the dead-letter subscription", msg.GetMessageId(), s.Topic, err)
	}
	if err := s.Subs.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: s.DeadLetter, AckIds: []string{m.GetAckId()}}); err != nil {
		return fmt.Errorf("acknowledging %s in the dead-letter subscription after publishing its copy: %w; it is now in both the topic and the dead-letter subscription (the dedup table drops the second copy; replay it again or purge it)", msg.GetMessageId(), err)
	}
	return nil
}
