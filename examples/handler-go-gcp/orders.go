// Package orders is an example Pub/Sub push event handler for Cloud Run
// functions (the go runtime, built from this source by Google) deployed by
// threefactor_eventhandler with cloud = "gcp". It keeps each order's latest
// status in the ORDERS_COLLECTION Firestore collection, exactly once per
// event within the dedup TTL and never overwritten by an older event, using
// the dedup collection the provider injects.
//
// The function's entry point is HandleOrders. cmd/ runs it locally.
package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	_ "github.com/threefactor/terraform-provider-threefactor/handler/firestorestore"
	"github.com/threefactor/terraform-provider-threefactor/handler/pubsubpush"
)

func init() {
	functions.HTTP("HandleOrders", handleOrders)
}

// orderEvent is the data of an order.* CloudEvent.
type orderEvent struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}

// handle records an order's status. Its only effect is the returned state
// write, as Transactional mode requires. It is the AWS example's handle,
// unchanged: only the adapter and the store differ.
func handle(_ context.Context, ev handler.Event) (handler.Effect, error) {
	var o orderEvent
	if err := json.Unmarshal(ev.Data, &o); err != nil {
		// Retrying cannot fix a malformed event: it fails alone and ends
		// in the dead-letter topic after the subscription's max delivery
		// attempts.
		return handler.Effect{}, err
	}
	if o.OrderID == "" || o.Status == "" {
		return handler.Effect{}, errors.New("order event without order_id or status")
	}
	// ORDER_STATUSES, when set, lists the statuses this version knows
	// (comma-separated): another one fails until a release knows it, and
	// can then be replayed from the dead-letter topic.
	if known := os.Getenv("ORDER_STATUSES"); known != "" && !slices.Contains(strings.Split(known, ","), o.Status) {
		return handler.Effect{}, fmt.Errorf("unknown order status %q (ORDER_STATUSES=%s)", o.Status, known)
	}
	return handler.Effect{
		State: &handler.StateWrite{Key: o.OrderID, Attributes: map[string]any{
			"status":     o.Status,
			"last_event": ev.ID,
		}},
		Result: []byte(o.Status),
	}, nil
}

// newProcessor opens the dedup store that THREEFACTOR_DEDUP_STORE names
// (firestore://projects/<p>/databases/<db>/documents/<collection>). The
// orders collection lives in the same database: a Firestore transaction
// spans one database.
func newProcessor(ctx context.Context) (*handler.Processor, error) {
	return handler.FromEnv(ctx, handler.Options{
		Mode:       handler.Transactional,
		StateTable: os.Getenv("ORDERS_COLLECTION"),
	})
}

var (
	setup sync.Once
	serve http.HandlerFunc
)

// handleOrders is the function: a Pub/Sub push request in, a status that
// acknowledges the message or makes Pub/Sub retry it out.
func handleOrders(w http.ResponseWriter, r *http.Request) {
	setup.Do(func() {
		p, err := newProcessor(context.Background())
		if err != nil {
			log.Printf("orders: %v", err)
			// Every delivery fails (and is retried, then dead-lettered)
			// until the function is deployed with a working configuration.
			serve = func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "the handler is not configured: "+err.Error(), http.StatusInternalServerError)
			}
			return
		}
		serve = pubsubpush.Handler(p, handle)
	})
	serve(w, r)
}
