package dlq

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/runner/sbrest"
)

// ServiceBus is an Azure handler's queue and dead-letter queue (<name>--dlq, where the provider
// forwards its dead letters), on Service Bus's HTTP data plane. Receiving a message counts a
// delivery on the dead-letter queue too: one that listing or failed replays received
// MaxDeliveryCount times (2000 as the provider makes the queue, 10 on one made before) moves to the
// dead-letter queue's own $DeadLetterQueue, so List, Replay and Purge read both.
type ServiceBus struct {
	Client *sbrest.Client
	// Source is the queue replayed copies are sent to; DeadLetter the dead-letter queue's path.
	Source, DeadLetter string
}

// entities are the dead-letter queue and its own dead-letter sub-queue.
func (q ServiceBus) entities() []string {
	return []string{q.DeadLetter, q.DeadLetter + "/$DeadLetterQueue"}
}

// List returns up to limit dead-lettered messages, each received with a lock and unlocked again
// (the HTTP data plane cannot browse), and total, the count of both queues. A message whose unlock
// fails stays hidden until its lock expires, never lost.
func (q ServiceBus) List(ctx context.Context, limit int) (msgs []Message, total int64, err error) {
	var locked []held
	defer func() { q.release(ctx, locked) }()
	for _, e := range q.entities() {
		for len(msgs) < limit {
			m, err := q.Client.PeekLock(ctx, e, time.Second)
			if err != nil {
				return msgs, 0, fmt.Errorf("receiving from %s: %w", e, err)
			}
			if m == nil {
				break
			}
			locked = append(locked, held{e, m})
			msgs = append(msgs, sbMessage(e, m))
		}
	}
	active, dead, err := q.Client.Counts(ctx, q.DeadLetter)
	if err != nil {
		return msgs, 0, fmt.Errorf("counting %s: %w", q.DeadLetter, err)
	}
	return msgs, active + dead, nil
}

// held is a message received with a lock, from entity.
type held struct {
	entity string
	m      *sbrest.Message
}

func (q ServiceBus) release(ctx context.Context, hs []held) {
	for _, h := range hs {
		_ = q.Client.Abandon(context.WithoutCancel(ctx), h.entity, h.m)
	}
}

func sbMessage(entity string, m *sbrest.Message) Message {
	out := Message{ID: m.ID, Body: string(m.Body), Attributes: map[string]string{}, ReceiveCount: m.DeliveryCount, Queue: entity}
	for k := range m.Properties {
		out.Attributes[k], _ = m.Text(k)
	}
	return out
}

// Replay sends a copy of each message with ids (every message when ids is empty) to the source
// queue, then completes the dead letter, and returns the ids replayed. A copy keeps the body,
// content type and every application property, and carries OriginalMessageID. It stops at the
// first error: the message in hand stays in the dead-letter queue (the send failed) or is in both
// queues (the complete failed), unlocked again, and the error says which.
func (q ServiceBus) Replay(ctx context.Context, ids []string) ([]string, error) {
	return replay[held](ctx, sbLetters{q}, ids)
}

// receiveLimit is the most messages one receive of a replay locks.
const receiveLimit = 100

// sbLetters are the dead letters of both queues as replay takes them.
type sbLetters struct{ q ServiceBus }

// receive locks up to receiveLimit available messages of both queues at once: a message released
// is available again at the head of its queue, and a receive of one would bring it back first.
func (l sbLetters) receive(ctx context.Context) ([]held, error) {
	var out []held
	for _, e := range l.q.entities() {
		for len(out) < receiveLimit {
			m, err := l.q.Client.PeekLock(ctx, e, time.Second)
			if err != nil {
				l.q.release(ctx, out)
				return nil, fmt.Errorf("receiving from %s: %w", l.where(), err)
			}
			if m == nil {
				break
			}
			out = append(out, held{e, m})
		}
	}
	return out, nil
}

// where names both queues.
func (l sbLetters) where() string {
	return "the dead-letter queue " + l.q.DeadLetter + " and its own $DeadLetterQueue"
}

func (l sbLetters) id(h held) string                    { return h.m.ID }
func (l sbLetters) release(ctx context.Context, h held) { l.q.release(ctx, []held{h}) }
func (l sbLetters) replay(ctx context.Context, h held) error {
	return l.q.replay(ctx, h.entity, h.m)
}

// replay sends a copy of m to the source queue, then completes m in entity.
func (q ServiceBus) replay(ctx context.Context, entity string, m *sbrest.Message) error {
	c := sbrest.Message{Body: m.Body, ContentType: m.ContentType, Properties: map[string]string{}}
	for k, v := range m.Properties {
		c.Properties[k] = v
	}
	if _, ok := m.Text(OriginalMessageID); !ok {
		id, _ := json.Marshal(m.ID) // a string property, as the HTTP API carries it
		c.Properties[OriginalMessageID] = string(id)
	}
	if err := q.Client.Send(ctx, q.Source, c); err != nil {
		_ = q.Client.Abandon(context.WithoutCancel(ctx), entity, m)
		return fmt.Errorf("sending a copy of %s to %s: %w; the message stays in the dead-letter queue (if the answer alone was lost, a copy was sent too: the dedup table drops it)", m.ID, q.Source, err)
	}
	if err := q.Client.Complete(ctx, entity, m); err != nil {
		_ = q.Client.Abandon(context.WithoutCancel(ctx), entity, m) // visible again at once, not when its lock expires
		return fmt.Errorf("completing %s in %s after sending its copy: %w; it is now in both queues, unless the complete took effect and only its answer was lost (the dedup table drops a second copy; replay it again or purge it)", m.ID, entity, err)
	}
	return nil
}

// Purge deletes every message of the dead-letter queue and its own dead-letter sub-queue, and
// returns how many.
func (q ServiceBus) Purge(ctx context.Context) (int, error) {
	n := 0
	for _, e := range q.entities() {
		for {
			m, err := q.Client.ReceiveAndDelete(ctx, e, 0)
			if err != nil {
				return n, fmt.Errorf("purging %s: %w", e, err)
			}
			if m == nil {
				break
			}
			n++
		}
	}
	return n, nil
}
