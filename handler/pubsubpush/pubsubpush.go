// Package pubsubpush adapts handler.Processor to Pub/Sub push delivery: the
// push subscription that threefactor_eventhandler creates POSTs one message
// per request to the function's URL and reads the HTTP status.
//
// The request body is Pub/Sub's push envelope:
//
//	{"message": {"data": "<base64>", "attributes": {...}, "messageId": "...",
//	             "publishTime": "...", "orderingKey": "..."},
//	 "subscription": "projects/<p>/subscriptions/<s>", "deliveryAttempt": N}
//
// (deliveryAttempt is present only when the subscription has a dead-letter
// policy, as the provider's always has.) The provider's subscription wraps
// messages this way (no payload unwrapping) and authenticates each push with
// an OIDC token of the handler's service account, which Cloud Run checks
// before the request reaches the function: the handler does not.
//
// Identity, in order of preference, with the same rules as awssqs:
//   - CloudEvents binary mode, as the CloudEvents Pub/Sub protocol binding
//     puts it: attributes ce-id and ce-source (any case; ce_ too), with
//     ce-type, ce-subject, ce-sequence;
//   - CloudEvents structured mode: data is a JSON CloudEvent with
//     specversion, id and source (content-type application/cloudevents+json);
//   - the Pub/Sub messageId (source "gcp:pubsub"), unique within the topic:
//     only Pub/Sub's own redeliveries of that message are recognised; or the
//     dead letter's id that a replay (threefactor dlq replay) carries in the
//     OriginalMessageID attribute, so that a second replayed copy of one dead
//     letter is a duplicate.
//
// A message that claims to be a CloudEvent but lacks source or id, or whose
// data_base64 is not base64, is malformed (handler.Malformed): it is never
// processed and is answered with a status that nacks it, so it reaches the
// dead-letter topic after the subscription's max delivery attempts.
//
// Status codes: Pub/Sub acknowledges a push on 102, 200, 201, 202 and 204 and
// redelivers on anything else (after the retry policy's backoff), until the
// dead-letter policy's max_delivery_attempts. The handler answers
//
//	204 No Content           Applied, Duplicate, Stale: acknowledged
//	400 Bad Request          a body that is not a push envelope, Malformed
//	405 Method Not Allowed   not a POST
//	409 Conflict             PayloadMismatch, Conflict
//	429 Too Many Requests    InFlight: another delivery holds the event's claim
//	500 Internal Server Error Failed: the handler or the store failed
//	503 Service Unavailable  DeadlineExceeded, NotProcessed
//
// Every status but 204 nacks the message. The outcome is in the
// X-Threefactor-Outcome header and, with the error, in the body.
package pubsubpush

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/cloudevent"
)

// Source is the event source of a message without a CloudEvents identity.
const Source = "gcp:pubsub"

// MaxBody bounds a push request's body: a Pub/Sub message holds at most
// 10 MB, which base64 and the envelope make about 13.4 MB.
const MaxBody = 16 << 20

// OriginalMessageID is the attribute in which a replay from the dead-letter
// subscription (threefactor dlq replay) carries the id of the dead letter it
// copies; a replay of a replay keeps the first id. FromPush takes it as the
// event id of a message without a CloudEvents identity, and leaves it out of
// the event's attributes. The name is awssqs.OriginalMessageID's.
const OriginalMessageID = "threefactor-original-message-id"

// OutcomeHeader carries the delivery's outcome (handler.Outcome.String()).
const OutcomeHeader = "X-Threefactor-Outcome"

// Push is the body of a push request.
type Push struct {
	Message      Message `json:"message"`
	Subscription string  `json:"subscription"`
	// DeliveryAttempt counts deliveries of the message, this one included,
	// when the subscription has a dead-letter policy; 0 otherwise.
	DeliveryAttempt int `json:"deliveryAttempt"`
}

// Message is a Pub/Sub message in a push body. Pub/Sub sends messageId and
// publishTime also as message_id and publish_time; either is read.
type Message struct {
	// Data is decoded from the body's base64.
	Data        []byte            `json:"data"`
	Attributes  map[string]string `json:"attributes"`
	MessageID   string            `json:"messageId"`
	PublishTime time.Time         `json:"publishTime"`
	OrderingKey string            `json:"orderingKey"`
}

// UnmarshalJSON reads a message with either spelling of its id and time.
func (m *Message) UnmarshalJSON(b []byte) error {
	type plain Message
	var aux struct {
		plain
		MessageIDSnake   string    `json:"message_id"`
		PublishTimeSnake time.Time `json:"publish_time"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*m = Message(aux.plain)
	if m.MessageID == "" {
		m.MessageID = aux.MessageIDSnake
	}
	if m.PublishTime.IsZero() {
		m.PublishTime = aux.PublishTimeSnake
	}
	return nil
}

// Handler returns an HTTP handler for push requests that processes each
// message with fn through p and answers with a status that acknowledges it
// (Applied, Duplicate, Stale) or not (any failure), so that Pub/Sub retries
// it and finally dead-letters it. Its type is also the signature of an HTTP
// function of the Functions Framework for Go:
// functions.HTTP("Handle", pubsubpush.Handler(p, fn)). A panic in fn fails
// only its message (see handler.PanicError).
func Handler(p *handler.Processor, fn handler.Func) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "push requests are POSTs", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			http.Error(w, fmt.Sprintf("reading the push body: %v", err), http.StatusBadRequest)
			return
		}
		push, err := Parse(body)
		if err != nil {
			log.Printf("pubsubpush: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res := p.Process(r.Context(), FromPush(push), fn)
		code := Status(res.Outcome)
		w.Header().Set(OutcomeHeader, res.Outcome.String())
		if code == http.StatusNoContent {
			w.WriteHeader(code)
			return
		}
		log.Printf("pubsubpush: message %s (delivery %d): %s: %v", res.Event.MessageID, res.Event.ReceiveCount, res.Outcome, res.Err)
		http.Error(w, fmt.Sprintf("%s: %v", res.Outcome, res.Err), code)
	}
}

// Parse decodes a push body. A body that is no push envelope (not JSON, data
// that is not base64, no message id) is an error.
func Parse(body []byte) (Push, error) {
	var p Push
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("the body is not a Pub/Sub push envelope: %w", err)
	}
	if p.Message.MessageID == "" {
		return p, errors.New("the push envelope has no message.messageId")
	}
	return p, nil
}

// FromPush converts a pushed message to an Event.
func FromPush(p Push) handler.Event {
	m := p.Message
	ev := handler.Event{
		Source:       Source,
		ID:           m.MessageID,
		Data:         m.Data,
		MessageID:    m.MessageID,
		Group:        m.OrderingKey,
		ReceiveCount: p.DeliveryAttempt,
		Attributes:   map[string]string{},
	}
	attrs := m.Attributes
	if id := attrs[OriginalMessageID]; id != "" {
		ev.ID = id
		attrs = maps.Clone(attrs)
		delete(attrs, OriginalMessageID)
	}
	if cloudevent.Binary(&ev, attrs) || cloudevent.Structured(&ev) {
		ev.CloudEvent = true
	}
	return ev
}

// Status is the HTTP status that answers a delivery with outcome o: 204 for
// the acknowledged outcomes, a status that makes Pub/Sub redeliver for the
// others.
func Status(o handler.Outcome) int {
	switch o {
	case handler.Applied, handler.Duplicate, handler.Stale:
		return http.StatusNoContent
	case handler.Malformed:
		return http.StatusBadRequest
	case handler.PayloadMismatch, handler.Conflict:
		return http.StatusConflict
	case handler.InFlight:
		return http.StatusTooManyRequests
	case handler.DeadlineExceeded, handler.NotProcessed:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
