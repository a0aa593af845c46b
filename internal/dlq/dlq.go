// Package dlq inspects and replays a handler's dead letters, on AWS (an SQS dead-letter queue,
// Queues), Google Cloud (the pull subscription of a Pub/Sub dead-letter topic, Subscriptions) and
// Azure (a Service Bus dead-letter queue, ServiceBus), without ever losing a message: a replay
// sends a copy back to the handler's trigger before it removes the dead letter, so an interrupted
// replay can leave a message in both places (the dedup table drops the second copy) but never in
// neither.
package dlq

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// OriginalMessageID is the message attribute (SQS) or application property (Service Bus) in which
// a replayed copy carries the id of the message it copies (the first one's, for a replay of a
// replay): the handler library's adapters (handler/awssqs.OriginalMessageID,
// handler/servicebus.OriginalMessageID) take it as the event id when the message has no
// CloudEvents identity, so a second copy is a duplicate.
const OriginalMessageID = "threefactor-original-message-id"

// Queues are a handler's queue and its dead-letter queue.
type Queues struct {
	SQS *sqs.Client
	// Source is the URL of the queue the handler consumes; DeadLetter that of its dead-letter queue.
	Source, DeadLetter string
	// DeadLetterARN and SourceARN, when set, let Replay try StartMessageMoveTask first.
	DeadLetterARN, SourceARN string
	// Hold is how many seconds a message being replayed stays hidden from other receivers, and
	// so how soon one whose replay failed is visible again: 30 when zero.
	Hold int32
}

// Message is one dead-lettered message.
type Message struct {
	ID           string            `json:"id"`
	Body         string            `json:"body"`
	Attributes   map[string]string `json:"attributes,omitempty"`
	ReceiveCount int               `json:"receive_count"`
	SentAt       string            `json:"sent_at,omitempty"`
	// Queue is the entity it was read from, on Azure: the dead-letter queue or its own
	// $DeadLetterQueue.
	Queue string `json:"queue,omitempty"`
}

// List returns a sample of the dead-lettered messages: SQS cannot list without receiving, so it
// receives and sets each message's visibility timeout back to zero at once (the SDK cannot send
// a zero on the receive itself), until a receive brings no new message or limit are seen; total is
// the queue's approximate count. A message whose release fails stays hidden for the queue's
// visibility timeout, never lost.
func (q Queues) List(ctx context.Context, limit int) (msgs []Message, total int64, err error) {
	seen := map[string]bool{}
	for len(msgs) < limit {
		out, err := q.receive(ctx, 0)
		if err != nil {
			return msgs, 0, fmt.Errorf("receiving from the dead-letter queue %s: %w", q.DeadLetter, err)
		}
		added := false
		for _, m := range out {
			q.release(ctx, m)
			if id := aws.ToString(m.MessageId); !seen[id] && len(msgs) < limit {
				seen[id], added = true, true
				msgs = append(msgs, message(m))
			}
		}
		if !added {
			break
		}
	}
	attrs, err := q.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &q.DeadLetter,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return msgs, 0, fmt.Errorf("counting the dead-letter queue %s: %w", q.DeadLetter, err)
	}
	total, _ = strconv.ParseInt(attrs.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], 10, 64)
	return msgs, total, nil
}

func message(m sqstypes.Message) Message {
	out := Message{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Attributes: map[string]string{}, SentAt: m.Attributes["SentTimestamp"]}
	out.ReceiveCount, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	for k, a := range m.MessageAttributes {
		out.Attributes[k] = aws.ToString(a.StringValue)
	}
	return out
}

func (q Queues) hold() int32 {
	if q.Hold > 0 {
		return q.Hold
	}
	return 30
}

// Replay moves the messages with ids (every message when ids is empty) back to the handler's
// queue and returns the ids replayed. With no ids and both ARNs set it first asks SQS for a move
// task (StartMessageMoveTask; moving is then SQS's, and moved returns nil, task its handle);
// where the endpoint lacks it (moto) it receives, sends a copy (every message attribute kept,
// plus OriginalMessageID), then deletes. It stops at the first error: the message in hand stays
// in the dead-letter queue (send failed) or is in both queues (delete failed), and the error says
// which.
func (q Queues) Replay(ctx context.Context, ids []string, note func(string)) (moved []string, task string, err error) {
	if len(ids) == 0 && q.DeadLetterARN != "" {
		// One attempt: an endpoint without the action answers with an error that retries do not change.
		out, err := q.SQS.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: &q.DeadLetterARN, DestinationArn: nilIfEmpty(q.SourceARN)},
			func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
		if err == nil {
			return nil, aws.ToString(out.TaskHandle), nil
		}
		note(fmt.Sprintf("StartMessageMoveTask is not available here (%v): replaying by receive, send, delete", err))
	}
	moved, err = replay[sqstypes.Message](ctx, sqsLetters{q}, ids)
	return moved, "", err
}

// sqsLetters are a dead-letter queue's messages as replay takes them.
type sqsLetters struct{ q Queues }

func (l sqsLetters) where() string { return "the dead-letter queue " + l.q.DeadLetter }

func (l sqsLetters) receive(ctx context.Context) ([]sqstypes.Message, error) {
	msgs, err := l.q.receive(ctx, l.q.hold())
	if err != nil {
		return nil, fmt.Errorf("receiving from the dead-letter queue %s: %w", l.q.DeadLetter, err)
	}
	return msgs, nil
}

func (l sqsLetters) id(m sqstypes.Message) string                    { return aws.ToString(m.MessageId) }
func (l sqsLetters) release(ctx context.Context, m sqstypes.Message) { l.q.release(ctx, m) }
func (l sqsLetters) replay(ctx context.Context, m sqstypes.Message) error {
	return l.q.replay(ctx, m)
}

// replay sends a copy of m to the handler's queue, then deletes m.
func (q Queues) replay(ctx context.Context, m sqstypes.Message) error {
	id := aws.ToString(m.MessageId)
	attrs := map[string]sqstypes.MessageAttributeValue{}
	for k, a := range m.MessageAttributes {
		attrs[k] = a
	}
	if _, ok := attrs[OriginalMessageID]; !ok {
		attrs[OriginalMessageID] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(id)}
	}
	if _, err := q.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.Source, MessageBody: m.Body, MessageAttributes: attrs}); err != nil {
		return fmt.Errorf("sending a copy of %s to %s: %w; the message stays in the dead-letter queue (visible again within %d s)", id, q.Source, err, q.hold())
	}
	if _, err := q.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &q.DeadLetter, ReceiptHandle: m.ReceiptHandle}); err != nil {
		return fmt.Errorf("deleting %s from the dead-letter queue after sending its copy: %w; it is now in both queues (the dedup table drops the second copy; replay it again or purge it)", id, err)
	}
	return nil
}

// release makes m visible again; failing leaves it hidden a while, never lost.
func (q Queues) release(ctx context.Context, m sqstypes.Message) {
	_, _ = q.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &q.DeadLetter, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
}

// Purge deletes every message of the dead-letter queue.
func (q Queues) Purge(ctx context.Context) error {
	if _, err := q.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &q.DeadLetter}); err != nil {
		return fmt.Errorf("purging the dead-letter queue %s: %w", q.DeadLetter, err)
	}
	return nil
}

// receive receives up to 10 messages, hidden for visibility seconds (0: the queue's default).
func (q Queues) receive(ctx context.Context, visibility int32) ([]sqstypes.Message, error) {
	out, err := q.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &q.DeadLetter, MaxNumberOfMessages: 10, VisibilityTimeout: visibility, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
