// Package servicebus adapts handler.Processor to Service Bus messages
// delivered to a Go custom handler on Azure Functions (Flex Consumption,
// runtime "custom").
//
// The Functions host runs the serviceBusTrigger that the function's
// function.json declares, and for each message POSTs to the custom handler
// at http://127.0.0.1:<FUNCTIONS_CUSTOMHANDLER_PORT>/<functionName>:
//
//	{"Data": {"<binding>": <message body>},
//	 "Metadata": {"MessageId": "...", "DeliveryCount": 1,
//	              "ApplicationProperties": {...} (older hosts: "UserProperties"),
//	              "ContentType": "...", "SessionId": "...", "sys": {...}, ...}}
//
// The body arrives as a JSON string (text) or as the JSON value itself; both
// are read, and metadata strings the host quotes twice are unquoted. The
// handler answers 200 with {"Outputs": {}, "Logs": [], "ReturnValue": null}
// when the message is done (Applied, Duplicate, Stale): the host completes
// it. Any other outcome answers 500 with the same shape and the error in
// Logs: the invocation fails, the host abandons the message, and Service Bus
// redelivers it until its MaxDeliveryCount (the provider sets it to
// retry.max_attempts), then dead-letters it (the provider forwards dead
// letters to <name>--dlq). The trigger delivers one message per invocation:
// batch_size is 1 on Azure, since a batch would be settled as a whole.
//
// Identity, in order of preference, with the same rules as awssqs and
// pubsubpush:
//   - CloudEvents binary mode, as the CloudEvents AMQP binding puts it on
//     Service Bus: application properties cloudEvents:id and
//     cloudEvents:source (also cloudEvents_ and ce- or ce_; any case), with
//     type, subject, sequence;
//   - CloudEvents structured mode: a JSON body with specversion, id and source;
//   - the Service Bus MessageId (source "azure:servicebus"), or the original
//     message's id that a dead-letter replay carries in the OriginalMessageID
//     application property, so that a second replayed copy of one message is
//     a duplicate: only Service Bus's own redeliveries and replays of that
//     message are recognised, unless the sender sets MessageId itself (and
//     duplicate detection is off).
//
// A message that claims to be a CloudEvent but lacks source or id is
// Malformed: it fails without running the handler and is dead-lettered
// after MaxDeliveryCount deliveries.
package servicebus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/cloudevent"
)

// Source is the event source of a message without a CloudEvents identity.
const Source = "azure:servicebus"

// OriginalMessageID is the application property (a string) in which a
// replay from the dead-letter queue (threefactor dlq replay) carries the
// MessageId of the message it copies; a replay of a replay keeps the first
// id. FromMessage takes it, matched without case, as the event id of a
// message without a CloudEvents identity.
const OriginalMessageID = "threefactor-original-message-id"

// Binding is the trigger binding's name the examples use in function.json.
const Binding = "message"

// MaxBody bounds a request's body: a Premium message holds at most 100 MB,
// Standard 256 KB; the host's envelope adds little.
const MaxBody = 110 << 20

// OutcomeHeader carries the delivery's outcome (handler.Outcome.String());
// the host ignores it.
const OutcomeHeader = "X-Threefactor-Outcome"

// Request is the body the Functions host POSTs to a custom handler.
type Request struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// Response is the body a custom handler answers with.
type Response struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// Message is the Service Bus message of a request.
type Message struct {
	Body          []byte
	MessageID     string
	DeliveryCount int
	SessionID     string
	ContentType   string
	// Properties are the application properties, as strings.
	Properties map[string]string
}

// Addr is the address the custom handler listens on: 127.0.0.1 (the host
// invokes its worker at http://127.0.0.1:<port>, and nothing else should
// reach it) and the port the host names in FUNCTIONS_CUSTOMHANDLER_PORT, or
// 8080 outside the host.
func Addr() string {
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "8080"
	}
	return "127.0.0.1:" + port
}

// Handler returns the HTTP handler for the function's invocations: it
// processes each message with fn through p and answers 200 (the host
// completes the message) or 500 (the host abandons it, for redelivery and
// finally the dead-letter queue). Mount it at /<functionName>, or at / for
// every function. A panic in fn fails only its message (see
// handler.PanicError).
func Handler(p *handler.Processor, fn handler.Func) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "the Functions host invokes a custom handler with POST", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			answer(w, http.StatusBadRequest, fmt.Sprintf("reading the invocation: %v", err))
			return
		}
		m, err := Parse(body)
		if err != nil {
			log.Printf("servicebus: %v", err)
			answer(w, http.StatusBadRequest, err.Error())
			return
		}
		res := p.Process(r.Context(), FromMessage(m), fn)
		w.Header().Set(OutcomeHeader, res.Outcome.String())
		if res.Outcome.Acknowledged() {
			answer(w, http.StatusOK, "")
			return
		}
		msg := fmt.Sprintf("message %s (delivery %d): %s: %v", m.MessageID, m.DeliveryCount, res.Outcome, res.Err)
		log.Printf("servicebus: %s", msg)
		answer(w, http.StatusInternalServerError, msg)
	}
}

func answer(w http.ResponseWriter, code int, logLine string) {
	resp := Response{Outputs: map[string]any{}, Logs: []string{}}
	if logLine != "" {
		resp.Logs = append(resp.Logs, logLine)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(resp)
}

// Parse reads the message of an invocation body: the trigger's binding is
// Data's only entry (or "message" among several).
func Parse(body []byte) (Message, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return Message{}, fmt.Errorf("the body is not a custom handler invocation: %w", err)
	}
	raw, ok := req.Data[Binding]
	if !ok && len(req.Data) == 1 {
		for _, v := range req.Data {
			raw = v
		}
		ok = true
	}
	if !ok {
		return Message{}, fmt.Errorf("the invocation's Data has %d entries and none named %q: cannot tell the trigger's", len(req.Data), Binding)
	}
	m := Message{Body: bodyOf(raw), Properties: map[string]string{}}
	m.MessageID = str(req.Metadata["MessageId"])
	if m.MessageID == "" {
		return Message{}, errors.New("the invocation's Metadata has no MessageId: is the trigger a serviceBusTrigger?")
	}
	m.SessionID = str(req.Metadata["SessionId"])
	m.ContentType = str(req.Metadata["ContentType"])
	if n, err := strconv.Atoi(str(req.Metadata["DeliveryCount"])); err == nil {
		m.DeliveryCount = n
	}
	for _, name := range []string{"UserProperties", "ApplicationProperties"} {
		for k, v := range props(req.Metadata[name]) {
			m.Properties[k] = v
		}
	}
	return m, nil
}

// bodyOf is the message body: a JSON string's text, else the raw JSON.
func bodyOf(raw json.RawMessage) []byte {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	return raw
}

// str reads a metadata value as a string: a JSON string (unquoted again
// when the host quoted it twice), or a number's or boolean's text.
func str(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		t := strings.TrimSpace(string(raw))
		if t == "null" {
			return ""
		}
		return t
	}
	var inner string
	if strings.HasPrefix(s, `"`) && json.Unmarshal([]byte(s), &inner) == nil {
		return inner
	}
	return s
}

// props reads application properties: an object, or a JSON string holding
// one; values become strings.
func props(raw json.RawMessage) map[string]string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil || json.Unmarshal([]byte(s), &obj) != nil {
			return nil
		}
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		out[k] = str(v)
	}
	return out
}

// FromMessage converts a message to an Event.
func FromMessage(m Message) handler.Event {
	ev := handler.Event{
		Source:       Source,
		ID:           m.MessageID,
		Data:         m.Body,
		MessageID:    m.MessageID,
		Group:        m.SessionID,
		ReceiveCount: m.DeliveryCount,
		Attributes:   map[string]string{},
	}
	attrs := make(map[string]string, len(m.Properties))
	for k, v := range m.Properties {
		lower := strings.ToLower(k)
		switch {
		case lower == OriginalMessageID:
			if v != "" {
				ev.ID = v
			}
		case strings.HasPrefix(lower, "cloudevents:"), strings.HasPrefix(lower, "cloudevents_"):
			attrs["ce-"+k[len("cloudEvents:"):]] = v
		default:
			attrs[k] = v
		}
	}
	if cloudevent.Binary(&ev, attrs) || cloudevent.Structured(&ev) {
		ev.CloudEvent = true
	}
	return ev
}
