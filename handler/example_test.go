package handler_test

import (
	"context"
	"fmt"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
)

// A handler tested against the in-memory store: a redelivery is a
// duplicate, an older version is stale.
func ExampleProcessor_ProcessBatch() {
	p := handler.New(memstore.New(), handler.Options{Mode: handler.Transactional, StateTable: "orders"})
	setStatus := func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		return handler.Effect{State: &handler.StateWrite{Key: "order-1", Attributes: map[string]any{"status": string(ev.Data)}}}, nil
	}
	batch := []handler.Event{
		{Source: "/orders", ID: "e2", CloudEvent: true, Sequence: "2", Data: []byte("shipped")},
		{Source: "/orders", ID: "e2", CloudEvent: true, Sequence: "2", Data: []byte("shipped")},
		{Source: "/orders", ID: "e1", CloudEvent: true, Sequence: "1", Data: []byte("placed")},
	}
	for _, r := range p.ProcessBatch(context.Background(), batch, setStatus) {
		fmt.Println(r.Event.ID, r.Outcome)
	}
	st, _ := p.Store().GetState(context.Background(), "orders", "order-1")
	fmt.Println(st.Attributes["status"], st.Version)
	// Output:
	// e2 applied
	// e2 duplicate
	// e1 stale
	// shipped 2
}
