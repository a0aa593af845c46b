package servicebus_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/servicebus"
)

// invocation is a custom handler request as the Functions host sends it
// for a serviceBusTrigger binding named "message": the body as a JSON
// string, metadata values as the host writes them (MessageId quoted twice,
// DeliveryCount a number, application properties an object).
func invocation(id, body string, props map[string]any) string {
	quoted, _ := json.Marshal(id)
	b, _ := json.Marshal(map[string]any{
		"Data": map[string]any{"message": body},
		"Metadata": map[string]any{
			"MessageId": string(quoted), "DeliveryCount": 2, "ContentType": "application/json",
			"ApplicationProperties": props, "EnqueuedTimeUtc": "2026-11-30T09:00:00Z",
			"sys": map[string]any{"MethodName": "orders", "UtcNow": "2026-11-30T09:00:01Z"},
		},
	})
	return string(b)
}

func parse(t *testing.T, b string) handler.Event {
	t.Helper()
	m, err := servicebus.Parse([]byte(b))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return servicebus.FromMessage(m)
}

func TestFromMessageAMQPCloudEvent(t *testing.T) {
	ev := parse(t, invocation("m-1", `{"total":3}`, map[string]any{
		"cloudEvents:specversion": "1.0", "cloudEvents:id": "evt-9", "cloudEvents:source": "//shop/orders",
		"cloudEvents:sequence": "17", "cloudEvents:type": "order.placed", "tenant": "acme", "priority": 5,
	}))
	if !ev.CloudEvent || ev.Source != "//shop/orders" || ev.ID != "evt-9" || ev.Sequence != "17" || ev.Type != "order.placed" {
		t.Errorf("identity = %+v; want CloudEvent //shop/orders evt-9 sequence 17", ev)
	}
	if ev.MessageID != "m-1" || ev.ReceiveCount != 2 || string(ev.Data) != `{"total":3}` || ev.Attributes["tenant"] != "acme" || ev.Attributes["priority"] != "5" {
		t.Errorf("event = %+v; want message m-1, delivery 2, the body, properties tenant and priority", ev)
	}
	// The underscore spelling (for AMQP brokers that refuse colons) and
	// ce- work too.
	for _, prefix := range []string{"cloudEvents_", "ce-"} {
		ev = parse(t, invocation("m-2", "x", map[string]any{prefix + "specversion": "1.0", prefix + "id": "e", prefix + "source": "/s"}))
		if !ev.CloudEvent || ev.ID != "e" || ev.Source != "/s" {
			t.Errorf("%s: event = %+v; want CloudEvent /s e", prefix, ev)
		}
	}
}

func TestFromMessageStructuredCloudEvent(t *testing.T) {
	ce := `{"specversion":"1.0","id":"evt-1","source":"/orders","type":"t","sequence":"4","data":{"total":3}}`
	ev := parse(t, invocation("m-1", ce, nil))
	if !ev.CloudEvent || ev.ID != "evt-1" || ev.Source != "/orders" || ev.Sequence != "4" || string(ev.Data) != `{"total":3}` {
		t.Errorf("event = %+v; want structured CloudEvent evt-1 with its data only", ev)
	}
	// The host may pass a JSON body as the JSON value itself.
	b := `{"Data":{"msg":` + ce + `},"Metadata":{"MessageId":"m-3","DeliveryCount":"1","UserProperties":"{\"tenant\":\"acme\"}"}}`
	ev = parse(t, b)
	if !ev.CloudEvent || ev.ID != "evt-1" || ev.MessageID != "m-3" || ev.ReceiveCount != 1 || ev.Attributes["tenant"] != "acme" {
		t.Errorf("event = %+v; want evt-1 from message m-3, delivery 1, tenant from UserProperties", ev)
	}
}

func TestFromMessageFallsBackToMessageID(t *testing.T) {
	ev := parse(t, invocation("m-1", "plain", nil))
	if ev.CloudEvent || ev.Source != servicebus.Source || ev.ID != "m-1" || ev.Malformed != nil || string(ev.Data) != "plain" {
		t.Errorf("event = %+v; want azure:servicebus m-1", ev)
	}
	ev = parse(t, invocation("m-2", "x", map[string]any{"cloudEvents:specversion": "1.0", "cloudEvents:id": "e"}))
	if ev.Malformed == nil {
		t.Errorf("event = %+v; want Malformed (a CloudEvent without source)", ev)
	}
}

// TestFromMessageReplayedCopy: a copy replayed from the dead-letter queue is the original event
// (its id from OriginalMessageID, in whatever case the HTTP API delivers the name), so the dedup
// table drops a second copy; a CloudEvents identity still wins.
func TestFromMessageReplayedCopy(t *testing.T) {
	first := parse(t, invocation("m-1", "plain", nil))
	for _, name := range []string{servicebus.OriginalMessageID, "Threefactor-Original-Message-Id"} {
		c := parse(t, invocation("m-7", "plain", map[string]any{name: "m-1", "tenant": "eu"}))
		if c.Key() != first.Key() || c.MessageID != "m-7" || c.Attributes["tenant"] != "eu" || len(c.Attributes) != 1 {
			t.Errorf("replayed copy (%s) = %+v, key %s; want the original's key %s, its own MessageId, the other properties only", name, c, c.Key(), first.Key())
		}
	}
	ce := parse(t, invocation("m-8", "x", map[string]any{servicebus.OriginalMessageID: "m-2",
		"cloudEvents:specversion": "1.0", "cloudEvents:id": "evt-2", "cloudEvents:source": "/shop"}))
	if !ce.CloudEvent || ce.ID != "evt-2" || ce.Source != "/shop" {
		t.Errorf("replayed CloudEvent = %+v; want its CloudEvents identity", ce)
	}
}

func TestParseRefusesWhatIsNoInvocation(t *testing.T) {
	for _, b := range []string{
		`not json`,
		`{"Data":{"message":"x"},"Metadata":{}}`,
		`{"Data":{"a":"x","b":"y"},"Metadata":{"MessageId":"m"}}`,
		`{"Data":{},"Metadata":{"MessageId":"m"}}`,
	} {
		if _, err := servicebus.Parse([]byte(b)); err == nil {
			t.Errorf("Parse(%s) succeeded; want an error", b)
		}
	}
}

func post(h http.Handler, b string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(b)))
	return w
}

// 200 with the custom handler response completes the message; every
// failure is a 500, which fails the invocation so that the host abandons
// the message for redelivery and, after MaxDeliveryCount, dead-lettering.
func TestHandlerStatusCodes(t *testing.T) {
	p := handler.New(memstore.New(), handler.Options{StateTable: "orders", Now: time.Now})
	h := servicebus.Handler(p, func(_ context.Context, ev handler.Event) (handler.Effect, error) {
		switch string(ev.Data) {
		case "poison":
			return handler.Effect{}, errors.New("cannot parse")
		case "panic":
			panic("boom")
		}
		return handler.Effect{State: &handler.StateWrite{Key: "o-1", Attributes: map[string]any{"status": string(ev.Data)}}}, nil
	})
	ce := func(id, seq string) map[string]any {
		return map[string]any{"cloudEvents:specversion": "1.0", "cloudEvents:id": id, "cloudEvents:source": "/orders", "cloudEvents:sequence": seq}
	}
	for _, tc := range []struct {
		name, body string
		code       int
		outcome    string
	}{
		{"first", invocation("m-1", "shipped", ce("e2", "2")), http.StatusOK, "applied"},
		{"redelivery", invocation("m-1", "shipped", ce("e2", "2")), http.StatusOK, "duplicate"},
		{"resent", invocation("m-9", "shipped", ce("e2", "2")), http.StatusOK, "duplicate"},
		{"late", invocation("m-2", "placed", ce("e1", "1")), http.StatusOK, "stale"},
		{"same id, other payload", invocation("m-3", "lost", ce("e2", "2")), http.StatusInternalServerError, "payload-mismatch"},
		{"same version, other event", invocation("m-4", "other", ce("e3", "2")), http.StatusInternalServerError, "conflict"},
		{"poison", invocation("m-5", "poison", ce("e4", "3")), http.StatusInternalServerError, "failed"},
		{"panic", invocation("m-6", "panic", ce("e5", "3")), http.StatusInternalServerError, "failed"},
		{"malformed", invocation("m-7", "x", map[string]any{"cloudEvents:specversion": "1.0", "cloudEvents:id": "e6"}), http.StatusInternalServerError, "malformed"},
		{"no invocation", `{"hello":1}`, http.StatusBadRequest, ""},
	} {
		w := post(h, tc.body)
		if w.Code != tc.code || w.Header().Get(servicebus.OutcomeHeader) != tc.outcome {
			t.Errorf("%s: status %d, outcome %q (%s); want %d, %q", tc.name, w.Code, w.Header().Get(servicebus.OutcomeHeader), strings.TrimSpace(w.Body.String()), tc.code, tc.outcome)
		}
		var resp map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || string(resp["Outputs"]) != "{}" || string(resp["ReturnValue"]) != "null" || resp["Logs"] == nil {
			t.Errorf("%s: body %s; want the custom handler response {Outputs: {}, Logs: [...], ReturnValue: null}", tc.name, w.Body.String())
		}
		if tc.code == http.StatusOK && string(resp["Logs"]) != "[]" {
			t.Errorf("%s: Logs %s; want none on success", tc.name, resp["Logs"])
		}
	}
	st, err := p.Store().GetState(context.Background(), "orders", "o-1")
	if err != nil || st.Attributes["status"] != "shipped" || st.Version != 2 {
		t.Errorf("state = %+v, %v; want shipped at version 2", st, err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/orders", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d; want 405", w.Code)
	}
}

func TestAddr(t *testing.T) {
	t.Setenv("FUNCTIONS_CUSTOMHANDLER_PORT", "40123")
	if got := servicebus.Addr(); got != "127.0.0.1:40123" {
		t.Errorf("Addr() = %q; want 127.0.0.1:40123", got)
	}
}
