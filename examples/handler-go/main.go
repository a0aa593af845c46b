// Command handler-go is an example SQS event handler for the go runtime
// (provided.al2023, built as bootstrap) deployed by threefactor_eventhandler.
// It keeps each order's latest status in the app's orders table, granted to
// it as function.tables = { orders = ... } (a threefactor_table, hash key id),
// exactly once per event within the dedup TTL and never overwritten by an
// older event, using the dedup table the provider injects.
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap .
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/awssqs"
	_ "github.com/threefactor/terraform-provider-threefactor/handler/dynamodbstore"
)

// orderEvent is the data of an order.* CloudEvent.
type orderEvent struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}

// handle records an order's status. Its only effect is the returned state
// write, as Transactional mode requires.
func handle(_ context.Context, ev handler.Event) (handler.Effect, error) {
	var o orderEvent
	if err := json.Unmarshal(ev.Data, &o); err != nil {
		// Retrying cannot fix a malformed event: it fails alone and ends
		// in the dead-letter queue after the provider's max_receive_count.
		return handler.Effect{}, err
	}
	if o.OrderID == "" || o.Status == "" {
		return handler.Effect{}, errors.New("order event without order_id or status")
	}
	// ORDER_STATUSES, when set, lists the statuses this version knows
	// (comma-separated): another one fails until a release knows it, and
	// can then be replayed from the dead-letter queue.
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

func newProcessor(ctx context.Context) (*handler.Processor, error) {
	return handler.FromEnv(ctx, handler.Options{
		Mode: handler.Transactional,
		// The table granted as orders: THREEFACTOR_TABLE_ORDERS says where it is.
		StateTable: "orders",
	})
}

func main() {
	p, err := newProcessor(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(awssqs.Handler(p, handle))
}
