package pubsubpush_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/pubsubpush"
)

// body is a push envelope as Pub/Sub sends it, both spellings included.
func body(id, data string, attrs map[string]string) string {
	b, _ := json.Marshal(map[string]any{
		"message": map[string]any{
			"data": base64.StdEncoding.EncodeToString([]byte(data)), "attributes": attrs,
			"messageId": id, "message_id": id,
			"publishTime": "2026-11-30T09:00:00.123Z", "publish_time": "2026-11-30T09:00:00.123Z",
			"orderingKey": "o-1",
		},
		"subscription": "projects/p/subscriptions/orders-push", "deliveryAttempt": 3,
	})
	return string(b)
}

func parse(t *testing.T, b string) handler.Event {
	t.Helper()
	push, err := pubsubpush.Parse([]byte(b))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return pubsubpush.FromPush(push)
}

func TestFromPushBinaryCloudEvent(t *testing.T) {
	ev := parse(t, body("m-1", `{"total":3}`, map[string]string{
		"ce-specversion": "1.0", "ce-id": "evt-9", "ce-source": "//shop/orders", "ce-sequence": "17",
		"ce-type": "order.placed", "tenant": "acme",
	}))
	if !ev.CloudEvent || ev.Source != "//shop/orders" || ev.ID != "evt-9" || ev.Sequence != "17" || ev.Type != "order.placed" {
		t.Errorf("identity = %+v; want CloudEvent //shop/orders evt-9 sequence 17", ev)
	}
	if ev.MessageID != "m-1" || ev.ReceiveCount != 3 || ev.Group != "o-1" || string(ev.Data) != `{"total":3}` || ev.Attributes["tenant"] != "acme" {
		t.Errorf("event = %+v; want message m-1, delivery attempt 3, ordering key o-1, the data, attribute tenant", ev)
	}
}

func TestFromPushStructuredCloudEvent(t *testing.T) {
	ce := `{"specversion":"1.0","id":"evt-1","source":"/orders","type":"t","sequence":"4","data":{"total":3}}`
	ev := parse(t, body("m-1", ce, map[string]string{"content-type": "application/cloudevents+json"}))
	if !ev.CloudEvent || ev.ID != "evt-1" || ev.Source != "/orders" || ev.Sequence != "4" || string(ev.Data) != `{"total":3}` {
		t.Errorf("event = %+v; want structured CloudEvent evt-1 with its data only", ev)
	}
}

func TestFromPushFallsBackToMessageID(t *testing.T) {
	ev := parse(t, body("m-1", "plain", nil))
	if ev.CloudEvent || ev.Source != pubsubpush.Source || ev.ID != "m-1" || ev.Malformed != nil {
		t.Errorf("event = %+v; want gcp:pubsub m-1", ev)
	}
	// The snake_case spelling alone is enough.
	ev = parse(t, `{"message":{"message_id":"m-2","publish_time":"2026-11-30T09:00:00Z"},"subscription":"s"}`)
	if ev.ID != "m-2" || ev.ReceiveCount != 0 || len(ev.Data) != 0 {
		t.Errorf("event = %+v; want m-2 without data or delivery attempt", ev)
	}
}

// A replayed copy's OriginalMessageID is the event id of a message without a CloudEvents identity
// (two copies of one dead letter are one event, which the dedup store drops the second time), and
// never overrides a CloudEvents id.
func TestFromPushTakesTheOriginalMessageID(t *testing.T) {
	attrs := map[string]string{pubsubpush.OriginalMessageID: "dl-7", "tenant": "acme"}
	first, second := parse(t, body("m-1", "plain", attrs)), parse(t, body("m-2", "plain", attrs))
	if first.Source != pubsubpush.Source || first.ID != "dl-7" || second.ID != first.ID || first.MessageID != "m-1" {
		t.Errorf("copies = %+v, %+v; want both gcp:pubsub dl-7, message m-1 kept", first, second)
	}
	if _, ok := first.Attributes[pubsubpush.OriginalMessageID]; ok || first.Attributes["tenant"] != "acme" {
		t.Errorf("attributes %v; want tenant only", first.Attributes)
	}
	if attrs[pubsubpush.OriginalMessageID] != "dl-7" {
		t.Errorf("FromPush changed the message's attributes: %v", attrs)
	}
	ce := parse(t, body("m-3", "{}", map[string]string{pubsubpush.OriginalMessageID: "dl-8", "ce-id": "evt-1", "ce-source": "/orders"}))
	if ce.ID != "evt-1" || ce.Source != "/orders" {
		t.Errorf("a CloudEvent's copy = %+v; want its CloudEvents identity /orders evt-1", ce)
	}
	// An empty attribute is no id: the message id stays.
	if ev := parse(t, body("m-4", "plain", map[string]string{pubsubpush.OriginalMessageID: ""})); ev.ID != "m-4" {
		t.Errorf("with an empty %s: id %q, want m-4", pubsubpush.OriginalMessageID, ev.ID)
	}
}

func TestParseRefusesWhatIsNoPushEnvelope(t *testing.T) {
	for _, b := range []string{
		`not json`,
		`{"message":{"data":"!!not base64","messageId":"m"}}`,
		`{"message":{"data":"aGk="}}`,
	} {
		if _, err := pubsubpush.Parse([]byte(b)); err == nil {
			t.Errorf("Parse(%s) succeeded; want an error", b)
		}
	}
}

func post(h http.Handler, b string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(b)))
	return w
}

// The status acknowledges Applied, Duplicate and Stale with a 2xx and nacks
// every failure with a status Pub/Sub does not take as an acknowledgement.
func TestHandlerStatusCodes(t *testing.T) {
	p := handler.New(memstore.New(), handler.Options{StateTable: "orders", Now: time.Now})
	h := pubsubpush.Handler(p, func(_ context.Context, ev handler.Event) (handler.Effect, error) {
		switch string(ev.Data) {
		case "poison":
			return handler.Effect{}, errors.New("cannot parse")
		case "panic":
			panic("boom")
		}
		return handler.Effect{State: &handler.StateWrite{Key: "o-1", Attributes: map[string]any{"status": string(ev.Data)}}}, nil
	})
	ce := func(id, seq string) map[string]string {
		return map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-source": "/orders", "ce-sequence": seq}
	}
	for _, tc := range []struct {
		name, body string
		code       int
		outcome    string
	}{
		{"first", body("m-1", "shipped", ce("e2", "2")), http.StatusNoContent, "applied"},
		{"redelivery", body("m-1", "shipped", ce("e2", "2")), http.StatusNoContent, "duplicate"},
		{"republished", body("m-9", "shipped", ce("e2", "2")), http.StatusNoContent, "duplicate"},
		{"late", body("m-2", "placed", ce("e1", "1")), http.StatusNoContent, "stale"},
		{"same id, other payload", body("m-3", "lost", ce("e2", "2")), http.StatusConflict, "payload-mismatch"},
		{"same version, other event", body("m-4", "other", ce("e3", "2")), http.StatusConflict, "conflict"},
		{"poison", body("m-5", "poison", ce("e4", "3")), http.StatusInternalServerError, "failed"},
		{"panic", body("m-6", "panic", ce("e5", "3")), http.StatusInternalServerError, "failed"},
		{"malformed", body("m-7", "x", map[string]string{"ce-specversion": "1.0", "ce-id": "e6"}), http.StatusBadRequest, "malformed"},
		{"no envelope", `{"hello":1}`, http.StatusBadRequest, ""},
	} {
		w := post(h, tc.body)
		if w.Code != tc.code || w.Header().Get(pubsubpush.OutcomeHeader) != tc.outcome {
			t.Errorf("%s: status %d, outcome %q (%s); want %d, %q", tc.name, w.Code, w.Header().Get(pubsubpush.OutcomeHeader), strings.TrimSpace(w.Body.String()), tc.code, tc.outcome)
		}
		if acked := w.Code >= 200 && w.Code < 300; acked != (tc.code == http.StatusNoContent) {
			t.Errorf("%s: status %d acks = %v", tc.name, w.Code, acked)
		}
	}
	st, err := p.Store().GetState(context.Background(), "orders", "o-1")
	if err != nil || st.Attributes["status"] != "shipped" || st.Version != 2 {
		t.Errorf("state = %+v, %v; want shipped at version 2", st, err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d; want 405", w.Code)
	}
}

// A claim held by another delivery is answered with a retryable status.
func TestHandlerNacksInFlight(t *testing.T) {
	p := handler.New(memstore.New(), handler.Options{Now: time.Now})
	started, release := make(chan struct{}), make(chan struct{})
	h := pubsubpush.Handler(p, func(context.Context, handler.Event) (handler.Effect, error) {
		close(started)
		<-release
		return handler.Effect{}, nil
	})
	b := body("m-1", "x", nil)
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- post(h, b) }()
	<-started
	if w := post(h, b); w.Code != http.StatusTooManyRequests || w.Header().Get(pubsubpush.OutcomeHeader) != "in-flight" {
		t.Errorf("concurrent redelivery: status %d, outcome %s; want 429, in-flight", w.Code, w.Header().Get(pubsubpush.OutcomeHeader))
	}
	close(release)
	if w := <-done; w.Code != http.StatusNoContent {
		t.Errorf("first delivery: status %d; want 204", w.Code)
	}
}

func TestStatusOfEveryOutcome(t *testing.T) {
	for o := handler.Applied; o <= handler.Conflict; o++ {
		code := pubsubpush.Status(o)
		if acked := code >= 200 && code < 300; acked != o.Acknowledged() {
			t.Errorf("Status(%s) = %d; acknowledged is %v", o, code, o.Acknowledged())
		}
	}
}
