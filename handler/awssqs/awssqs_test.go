package awssqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/awssqs"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
)

func attr(v string) events.SQSMessageAttribute {
	return events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
}

func TestFromSQSBinaryCloudEvent(t *testing.T) {
	ev := awssqs.FromSQS(events.SQSMessage{
		MessageId: "sqs-1", Body: `{"total":3}`,
		Attributes: map[string]string{"ApproximateReceiveCount": "2"},
		MessageAttributes: map[string]events.SQSMessageAttribute{
			"ce-id": attr("evt-9"), "CE-Source": attr("/orders"), "ce_sequence": attr("17"),
			"ce-type": attr("order.placed"), "tenant": attr("acme"),
		},
	})
	if !ev.CloudEvent || ev.Source != "/orders" || ev.ID != "evt-9" || ev.Sequence != "17" || ev.Type != "order.placed" {
		t.Errorf("identity = %+v; want CloudEvent /orders evt-9 sequence 17", ev)
	}
	if ev.MessageID != "sqs-1" || ev.ReceiveCount != 2 || string(ev.Data) != `{"total":3}` || ev.Attributes["tenant"] != "acme" {
		t.Errorf("event = %+v; want message id sqs-1, receive count 2, body data, attribute tenant", ev)
	}
}

func TestFromSQSStructuredCloudEvent(t *testing.T) {
	body := `{"specversion":"1.0","id":"evt-1","source":"/orders","type":"t","sequence":"4","data":{"total":3}}`
	ev := awssqs.FromSQS(events.SQSMessage{MessageId: "sqs-1", Body: body})
	if !ev.CloudEvent || ev.ID != "evt-1" || ev.Source != "/orders" || ev.Sequence != "4" || string(ev.Data) != `{"total":3}` {
		t.Errorf("event = %+v; want structured CloudEvent evt-1 with data only", ev)
	}
	b64 := `{"specversion":"1.0","id":"evt-2","source":"/o","data_base64":"aGk="}`
	if ev := awssqs.FromSQS(events.SQSMessage{MessageId: "x", Body: b64}); string(ev.Data) != "hi" {
		t.Errorf("data_base64 decoded to %q; want hi", ev.Data)
	}
}

func TestFromSQSFallsBackToMessageID(t *testing.T) {
	ev := awssqs.FromSQS(events.SQSMessage{MessageId: "sqs-1", Body: `{"total":3}`,
		Attributes: map[string]string{"MessageGroupId": "g"}})
	if ev.CloudEvent || ev.Source != "aws:sqs" || ev.ID != "sqs-1" || ev.Group != "g" {
		t.Errorf("event = %+v; want aws:sqs sqs-1 in group g", ev)
	}
	// Only one of id and source is not a CloudEvents identity.
	ev = awssqs.FromSQS(events.SQSMessage{MessageId: "sqs-2", MessageAttributes: map[string]events.SQSMessageAttribute{"ce-id": attr("x")}})
	if ev.CloudEvent || ev.ID != "sqs-2" {
		t.Errorf("event with ce-id only = %+v; want the SQS fallback", ev)
	}
}

func TestFromSQSSNSEnvelope(t *testing.T) {
	env, _ := json.Marshal(map[string]any{
		"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "hello",
		"MessageAttributes": map[string]any{"ce-id": map[string]string{"Type": "String", "Value": "evt-3"}},
	})
	ev := awssqs.FromSQS(events.SQSMessage{MessageId: "sqs-1", Body: string(env)})
	if ev.Source != "aws:sns" || ev.ID != "sns-1" || string(ev.Data) != "hello" || ev.CloudEvent {
		t.Errorf("event = %+v; want aws:sns sns-1 with the message as data", ev)
	}
}

func TestHandlerReportsOnlyFailures(t *testing.T) {
	p := handler.New(memstore.New(), handler.Options{StateTable: "orders", Now: time.Now})
	h := awssqs.Handler(p, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		if string(ev.Data) == "poison" {
			return handler.Effect{}, errors.New("cannot parse")
		}
		return handler.Effect{}, nil
	})
	batch := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: "ok"}, {MessageId: "2", Body: "poison"}, {MessageId: "3", Body: "ok"}, {MessageId: "1", Body: "ok"},
	}}
	resp, err := h(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "2" {
		t.Errorf("batch item failures = %+v; want only message 2", resp.BatchItemFailures)
	}
	// An all-good batch reports an empty list, not null.
	resp, _ = h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "4", Body: "ok"}}})
	if b, _ := json.Marshal(resp); string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("response = %s; want an empty batchItemFailures list", b)
	}
}

func TestHandlerReportsAPanicAsThatMessagesFailure(t *testing.T) {
	p := handler.New(memstore.New(), handler.Options{StateTable: "orders", Now: time.Now})
	h := awssqs.Handler(p, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		if string(ev.Data) == "poison" {
			panic("cannot parse")
		}
		return handler.Effect{}, nil
	})
	batch := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "1", Body: "ok"}, {MessageId: "2", Body: "poison"}, {MessageId: "3", Body: "ok"}}}
	var resp events.SQSEventResponse
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Handler let the panic through: %v", r)
			}
		}()
		resp, err = h(context.Background(), batch)
	}()
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "2" {
		t.Errorf("response = %+v, %v; want only message 2 failed", resp, err)
	}
}

// Malformed CloudEvents fail alone and are never processed (issue 9 bug 5).
func TestHandlerFailsMalformedCloudEventsAlone(t *testing.T) {
	p := handler.New(memstore.New(), handler.Options{StateTable: "orders", Now: time.Now})
	var ran []string
	h := awssqs.Handler(p, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		ran = append(ran, ev.MessageID)
		return handler.Effect{}, nil
	})
	batch := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "good", Body: `{"specversion":"1.0","id":"e1","source":"/o","data_base64":"aGk="}`},
		{MessageId: "bad-base64", Body: `{"specversion":"1.0","id":"e2","source":"/o","data_base64":"!!not base64"}`},
		{MessageId: "no-source", Body: `{"specversion":"1.0","id":"e3","data":{"total":3}}`},
		{MessageId: "no-id", Body: `{"specversion":"1.0","source":"/o","data":{"total":3}}`},
		{MessageId: "binary-no-source", Body: "x", MessageAttributes: map[string]events.SQSMessageAttribute{"ce-specversion": attr("1.0"), "ce-id": attr("e4")}},
	}}
	resp, err := h(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if got, want := strings.Join(failed, ","), "bad-base64,no-source,no-id,binary-no-source"; got != want {
		t.Errorf("batch item failures = %s; want %s", got, want)
	}
	for _, m := range batch.Records[1:] {
		if res := p.Process(context.Background(), awssqs.FromSQS(m), nil); res.Outcome != handler.Malformed || res.Err == nil {
			t.Errorf("message %s: outcome %s (err %v); want malformed with its reason", m.MessageId, res.Outcome, res.Err)
		}
	}
	if got := strings.Join(ran, ","); got != "good" {
		t.Errorf("handler ran for %s; want only good (a malformed event is never processed)", got)
	}
}

// A CloudEvent identity is source + id, never id alone.
func TestProcessRefusesCloudEventWithoutSource(t *testing.T) {
	p := handler.New(memstore.New(), handler.Options{StateTable: "orders", Now: time.Now})
	ran := false
	res := p.Process(context.Background(), handler.Event{CloudEvent: true, ID: "e1", MessageID: "m1"}, func(context.Context, handler.Event) (handler.Effect, error) {
		ran = true
		return handler.Effect{}, nil
	})
	if ran || res.Outcome != handler.Malformed || !errors.Is(res.Err, handler.ErrMalformed) {
		t.Errorf("CloudEvent without source: ran = %v, result %+v; want not run and not acknowledged", ran, res)
	}
}

// TestFromSQSReplayedCopy: a copy replayed from the dead-letter queue is the original event, so a
// second copy is a duplicate; a CloudEvents identity still wins; the attribute is not passed on.
func TestFromSQSReplayedCopy(t *testing.T) {
	replayed := map[string]events.SQSMessageAttribute{awssqs.OriginalMessageID: attr("sqs-1"), "tenant": attr("acme")}
	ev := awssqs.FromSQS(events.SQSMessage{MessageId: "sqs-9", Body: `{}`, MessageAttributes: replayed})
	if ev.Source != "aws:sqs" || ev.ID != "sqs-1" || ev.MessageID != "sqs-9" {
		t.Errorf("replayed copy = %+v; want identity aws:sqs sqs-1 and message id sqs-9 (reported in failures)", ev)
	}
	if _, ok := ev.Attributes[awssqs.OriginalMessageID]; ok || ev.Attributes["tenant"] != "acme" {
		t.Errorf("attributes = %v; want tenant only", ev.Attributes)
	}
	first := awssqs.FromSQS(events.SQSMessage{MessageId: "sqs-1", Body: `{}`})
	if first.Key() != ev.Key() {
		t.Errorf("replayed key %s differs from the original's %s: the dedup table would apply it twice", ev.Key(), first.Key())
	}
	replayed["ce-id"], replayed["ce-source"] = attr("evt-1"), attr("/orders")
	if ev := awssqs.FromSQS(events.SQSMessage{MessageId: "sqs-9", MessageAttributes: replayed}); ev.ID != "evt-1" || ev.Source != "/orders" {
		t.Errorf("replayed CloudEvent = %+v; want its own identity /orders evt-1", ev)
	}
}
