// Package awssqs adapts handler.Processor to SQS batches delivered to AWS
// Lambda, directly or from SNS (raw delivery, or the SNS JSON envelope).
//
// Identity, in order of preference:
//   - CloudEvents binary mode: message attributes ce-id and ce-source (also
//     ce_id, ce_source; any case), with ce-type, ce-subject, ce-sequence;
//   - CloudEvents structured mode: a JSON body with specversion, id and source;
//   - the SNS envelope's MessageId (source "aws:sns"), when SNS delivers
//     without raw delivery;
//   - the SQS messageId (source "aws:sqs"), or the original message's id
//     that a dead-letter replay carries in the OriginalMessageID attribute,
//     so that a second replayed copy of one message is a duplicate. SNS raw
//     delivery strips SNS's own message id, so without a CloudEvents id an
//     SNS duplicate arrives as a new SQS message and is not recognised; only
//     SQS redeliveries and replays are.
//
// A message that claims to be a CloudEvent (a ce-specversion attribute, or a
// JSON body with specversion) but lacks source or id, or whose data_base64 is
// not base64 (or comes with data too), is malformed: Event.Malformed says
// why, and the processor fails it alone (handler.Malformed) without running
// the handler. It never falls back to the SQS message id as its identity.
package awssqs

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/cloudevent"
)

// OriginalMessageID is the message attribute (String) in which a replay
// from the dead-letter queue (threefactor dlq replay) carries the id of the
// message it copies; a replay of a replay keeps the first id. FromSQS takes
// it as the event id of a message without a CloudEvents identity.
const OriginalMessageID = "threefactor-original-message-id"

// Handler returns a Lambda handler for SQS batches that processes each
// message with fn through p and reports only the failed ones, so that
// Lambda deletes the rest and a poison message reaches the dead-letter queue
// without replaying its batch. The provider always turns on
// ReportBatchItemFailures on the event source mapping. A panic in fn fails
// only its message (see handler.PanicError); a panic in a goroutine that fn
// starts cannot be recovered and ends the invocation.
func Handler(p *handler.Processor, fn handler.Func) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
		evs := make([]handler.Event, len(batch.Records))
		for i, m := range batch.Records {
			evs[i] = FromSQS(m)
		}
		return Response(p.ProcessBatch(ctx, evs, fn)), nil
	}
}

// Response reports the results that are not acknowledged as batch item
// failures.
func Response(results []handler.Result) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, r := range handler.Failures(results) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.Event.MessageID})
	}
	return resp
}

// FromSQS converts one SQS message to an Event.
func FromSQS(m events.SQSMessage) handler.Event {
	ev := handler.Event{
		Source:     "aws:sqs",
		ID:         m.MessageId,
		Data:       []byte(m.Body),
		MessageID:  m.MessageId,
		Group:      m.Attributes["MessageGroupId"],
		Attributes: map[string]string{},
	}
	ev.ReceiveCount, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	attrs := map[string]string{}
	for name, a := range m.MessageAttributes {
		if a.StringValue != nil {
			attrs[name] = *a.StringValue
		}
	}
	if id := attrs[OriginalMessageID]; id != "" {
		ev.ID = id
		delete(attrs, OriginalMessageID)
	}
	if env, ok := snsEnvelope(m.Body); ok {
		ev.Source, ev.ID, ev.Data = "aws:sns", env.MessageID, []byte(env.Message)
		for name, a := range env.MessageAttributes {
			if a.Type == "String" || a.Type == "Number" {
				attrs[name] = a.Value
			}
		}
	}
	if cloudevent.Binary(&ev, attrs) || cloudevent.Structured(&ev) {
		ev.CloudEvent = true
	}
	return ev
}

type envelope struct {
	Type              string `json:"Type"`
	MessageID         string `json:"MessageId"`
	TopicArn          string `json:"TopicArn"`
	Message           string `json:"Message"`
	MessageAttributes map[string]struct {
		Type  string `json:"Type"`
		Value string `json:"Value"`
	} `json:"MessageAttributes"`
}

func snsEnvelope(body string) (envelope, bool) {
	var env envelope
	if !strings.HasPrefix(body, "{") || json.Unmarshal([]byte(body), &env) != nil {
		return env, false
	}
	return env, env.Type == "Notification" && env.MessageID != "" && env.TopicArn != ""
}
