// Command handler is an example Service Bus event handler for Azure
// Functions (Flex Consumption, runtime "custom") deployed by
// threefactor_eventhandler with cloud = "azure". It keeps each order's latest
// status in the Cosmos DB container the provider creates for the handler,
// exactly once per event within the dedup TTL and never overwritten by an
// older event.
//
// The Functions host starts this binary (host.json's customHandler names
// it "handler"), runs the serviceBusTrigger of orders/function.json and
// POSTs each message to /orders on FUNCTIONS_CUSTOMHANDLER_PORT.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	_ "github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/servicebus"
)

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
		// Retrying cannot fix a malformed event: it fails alone and is
		// dead-lettered after the queue's MaxDeliveryCount.
		return handler.Effect{}, err
	}
	if o.OrderID == "" || o.Status == "" {
		return handler.Effect{}, errors.New("order event without order_id or status")
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
// (cosmos://<account>.documents.azure.com/<database>/<container>). The
// orders live in the same container, under their own partition key: a
// Cosmos transactional batch covers one partition of one container.
func newProcessor(ctx context.Context) (*handler.Processor, error) {
	table := os.Getenv("ORDERS_TABLE")
	if table == "" {
		table = "orders"
	}
	return handler.FromEnv(ctx, handler.Options{Mode: handler.Transactional, StateTable: table})
}

// mux serves the function "orders" (the directory of its function.json).
func mux(p *handler.Processor) http.Handler {
	m := http.NewServeMux()
	m.Handle("/orders", servicebus.Handler(p, handle))
	return m
}

func main() {
	p, err := newProcessor(context.Background())
	var h http.Handler
	if err != nil {
		log.Printf("orders: %v", err)
		// Every delivery fails (and is retried, then dead-lettered) until
		// the function is deployed with a working configuration.
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "the handler is not configured: "+err.Error(), http.StatusInternalServerError)
		})
	} else {
		h = mux(p)
	}
	srv := &http.Server{Addr: servicebus.Addr(), Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
