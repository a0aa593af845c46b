package pubsubpush_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/pubsubpush"
)

// A push handler tested in memory: the first delivery and its redelivery
// are both acknowledged (204), a poison message is not (500), so Pub/Sub
// retries it and finally dead-letters it. On Cloud Run functions, register
// the same handler with functions.HTTP("Handle", h).
func ExampleHandler() {
	p := handler.New(memstore.New(), handler.Options{Mode: handler.Transactional, StateTable: "orders"})
	h := pubsubpush.Handler(p, func(_ context.Context, ev handler.Event) (handler.Effect, error) {
		if string(ev.Data) == "poison" {
			return handler.Effect{}, fmt.Errorf("cannot parse %q", ev.Data)
		}
		return handler.Effect{State: &handler.StateWrite{Key: "order-1", Attributes: map[string]any{"status": string(ev.Data)}}}, nil
	})
	for _, body := range []string{
		// data is base64: "shipped", "shipped", "poison".
		`{"message":{"data":"c2hpcHBlZA==","messageId":"m1","attributes":{"ce-id":"e2","ce-source":"/orders","ce-sequence":"2"}},"subscription":"projects/p/subscriptions/s","deliveryAttempt":1}`,
		`{"message":{"data":"c2hpcHBlZA==","messageId":"m1","attributes":{"ce-id":"e2","ce-source":"/orders","ce-sequence":"2"}},"subscription":"projects/p/subscriptions/s","deliveryAttempt":2}`,
		`{"message":{"data":"cG9pc29u","messageId":"m2","attributes":{"ce-id":"e3","ce-source":"/orders","ce-sequence":"3"}},"subscription":"projects/p/subscriptions/s","deliveryAttempt":1}`,
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		fmt.Println(w.Code, w.Header().Get(pubsubpush.OutcomeHeader))
	}
	// Output:
	// 204 applied
	// 204 duplicate
	// 500 failed
}
