package gcpfunctions_test

import (
	"context"
	"maps"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// TestPartsCallBudget: a refresh of a topic reads it (1 call), of a table its database and its TTL
// field (2 calls); an apply without changes makes only those reads. A handler subscribed to the
// topic, with a filter and a table grant, refreshes in 11 calls (12 less its own topic, which it
// does not have): its grants are in the project policy it reads anyway.
func TestPartsCallBudget(t *testing.T) {
	h := harness(t)
	ctx := context.Background()
	d := h.D
	topic := &spec.AppTopic{Name: "budget", Cloud: gcpfunctions.Name, RetentionDays: 7, Tags: map[string]string{"team": "a"}}
	table := &spec.AppTable{Name: "budget", Cloud: gcpfunctions.Name, Key: spec.DefaultTableKey, TTLAttribute: "expires"}
	ids := map[string]string{}
	for _, tc := range []struct {
		name   string
		budget int
		apply  func(id string) (string, error)
		read   func(id string) error
	}{
		{"topic", 1, func(id string) (string, error) { return d.Topics().Apply(ctx, topic, id) },
			func(id string) error { _, err := d.Topics().Read(ctx, id); return err }},
		{"table", 2, func(id string) (string, error) { return d.Tables().Apply(ctx, table, id) },
			func(id string) error { _, err := d.Tables().Read(ctx, id); return err }},
	} {
		resetCalls(h)
		id, err := tc.apply("")
		if err != nil {
			t.Fatal(err)
		}
		ids[tc.name] = id
		created := calls(h)
		resetCalls(h)
		if err := tc.read(id); err != nil {
			t.Fatal(err)
		}
		read := calls(h)
		resetCalls(h)
		if _, err := tc.apply(id); err != nil {
			t.Fatal(err)
		}
		noop := calls(h)
		t.Logf("%s: create %d calls %v; refresh %d calls %v", tc.name, total(created), created, total(read), read)
		if total(read) != tc.budget {
			t.Errorf("%s: refresh made %d calls, want %d: %v", tc.name, total(read), tc.budget, read)
		}
		if !maps.Equal(noop, read) {
			t.Errorf("%s: Apply of an unchanged part made %v, want only the refresh's reads %v", tc.name, noop, read)
		}
	}
	want := handler("granted", spec.Topic)
	want.Trigger.Source, want.Trigger.Filter = ids["topic"], map[string][]string{"type": {"order.created"}}
	want.Function.Tables = map[string]spec.TableGrant{"budget": {TableID: ids["table"], Access: spec.ReadWrite}}
	st := apply(t, h, want, nil)
	resetCalls(h)
	if _, err := d.Read(ctx, st); err != nil {
		t.Fatal(err)
	}
	read := calls(h)
	resetCalls(h)
	apply(t, h, want, st)
	if noop := calls(h); total(read) != 11 || !maps.Equal(noop, read) {
		t.Errorf("a handler with a filter and a grant: refresh %v, apply without changes %v; want 11 calls, the same", read, noop)
	}
}
