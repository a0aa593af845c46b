package handler_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
)

// TestOutcomeLog: one line per delivery, in a shape a runner parses, with every outcome the batch
// response cannot tell (duplicate, stale) and the reason of a failure.
func TestOutcomeLog(t *testing.T) {
	var log bytes.Buffer
	p := handler.New(memstore.New(), handler.Options{Handler: "orders", StateTable: "orders", OutcomeLog: &log})
	c := &counter{}
	fail := func(context.Context, handler.Event) (handler.Effect, error) {
		return handler.Effect{}, errors.New("boom")
	}
	ctx := context.Background()
	p.Process(ctx, event("e2", 2, "x"), c.handle)
	p.Process(ctx, event("e2", 2, "x"), c.handle)
	p.Process(ctx, event("e1", 1, "x"), c.handle)
	p.Process(ctx, event("e3", 3, "x"), fail)

	var got []handler.OutcomeLine
	for sc := bufio.NewScanner(&log); sc.Scan(); {
		var l handler.OutcomeLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		got = append(got, l)
	}
	want := []struct {
		id, outcome string
		ack         bool
	}{{"e2", "applied", true}, {"e2", "duplicate", true}, {"e1", "stale", true}, {"e3", "failed", false}}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), log.String())
	}
	for i, w := range want {
		g := got[i]
		if g.Threefactor != handler.OutcomeMarker || g.Handler != "orders" || g.ID != w.id || g.Outcome != w.outcome || g.Acknowledged != w.ack {
			t.Errorf("line %d = %+v; want %s %s acknowledged=%v", i, g, w.id, w.outcome, w.ack)
		}
	}
	if got[3].Error == "" {
		t.Errorf("failed line %+v lacks the error", got[3])
	}
}

// TestOutcomeLogBatchSkipped: a message an ordered batch skips gets its line too, so a runner's
// count of lines matches the batch.
func TestOutcomeLogBatchSkipped(t *testing.T) {
	var log bytes.Buffer
	p := handler.New(memstore.New(), handler.Options{StateTable: "orders", OutcomeLog: &log})
	fail := func(context.Context, handler.Event) (handler.Effect, error) {
		return handler.Effect{}, errors.New("boom")
	}
	a, b := event("e1", 1, "x"), event("e2", 2, "x")
	a.Group, b.Group = "g", "g"
	p.ProcessBatch(context.Background(), []handler.Event{a, b}, fail)
	if n := bytes.Count(log.Bytes(), []byte("\n")); n != 2 || !bytes.Contains(log.Bytes(), []byte(`"outcome":"not-processed"`)) {
		t.Errorf("outcome log:\n%s\nwant 2 lines, the second not-processed", log.String())
	}
}
