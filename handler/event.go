package handler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
)

// Event is one delivered message, in a shape shared by every cloud: SQS (and
// SNS raw delivery into SQS), Pub/Sub push, and Service Bus through Azure
// Functions.
type Event struct {
	// Source and ID are the event's identity, together: an event without
	// both is Malformed. For a CloudEvent they are its
	// source and id attributes, which the CloudEvents spec makes unique
	// together. Otherwise Source names the platform ("aws:sqs") and ID is
	// the platform's message id: then only the platform's own redeliveries
	// of that message are recognised as duplicates. SNS raw delivery, for
	// one, strips SNS's message id, so an SNS duplicate arrives as a new SQS
	// message and is not recognised unless the producer sets a CloudEvents id.
	Source string
	ID     string
	// CloudEvent reports whether Source and ID came from CloudEvents
	// attributes (binary mode) or a CloudEvents JSON body (structured mode).
	CloudEvent bool

	Type    string
	Subject string
	// Sequence is the CloudEvents sequence attribute: by default the
	// entity version used by the out-of-order guard (see Options.Version).
	Sequence string

	Data []byte

	// MessageID is the platform's id for this delivery, reported back in
	// batch failures (batchItemFailures' itemIdentifier on SQS).
	MessageID string
	// Group is the ordering key (SQS FIFO MessageGroupId, Pub/Sub ordering
	// key, Service Bus session), empty when the queue is unordered.
	Group string
	// ReceiveCount is how many times the platform has delivered this
	// message, this delivery included (0 when unknown).
	ReceiveCount int
	// Attributes are the message's remaining string attributes.
	Attributes map[string]string

	// Malformed, when not nil, says why the message breaks the CloudEvents
	// spec it claims to follow (a structured event without source or id,
	// data_base64 that is not base64, ...). Adapters set it; the processor
	// reports such an event as Malformed without processing it, so it fails
	// alone and reaches the dead-letter queue.
	Malformed error
}

// Key is the event's identity as one string, without the handler prefix
// that Processor adds.
func (e Event) Key() string {
	kind := "msg"
	if e.CloudEvent {
		kind = "ce"
	}
	return kind + "/" + url.PathEscape(e.Source) + "/" + url.PathEscape(e.ID)
}

// SequenceVersion parses Sequence as a base-10 integer version, the default
// numeric version. The CloudEvents sequence extension is a string compared
// lexicographically: to use it as such, set Options.Ordering to
// Lexicographic; producers with another numeric format set Options.Version.
func (e Event) SequenceVersion() (int64, error) {
	if e.Sequence == "" {
		return 0, fmt.Errorf("event %s has no sequence attribute: set Options.Version or StateWrite.Version", e.Key())
	}
	v, err := strconv.ParseInt(e.Sequence, 10, 64)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("event %s: sequence %q is not a positive integer: set Options.Version to parse it", e.Key(), e.Sequence)
	}
	return v, nil
}

func payloadHash(e Event) string {
	sum := sha256.Sum256(e.Data)
	return hex.EncodeToString(sum[:])
}

type eventKey struct{}

// EventFromContext returns the event being processed, for loggers, metrics
// and store middleware called with the per-message context.
func EventFromContext(ctx context.Context) (Event, bool) {
	ev, ok := ctx.Value(eventKey{}).(Event)
	return ev, ok
}

func withEvent(ctx context.Context, ev Event) context.Context {
	return context.WithValue(ctx, eventKey{}, ev)
}
