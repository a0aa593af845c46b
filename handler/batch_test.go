package handler_test

import (
	"context"
	"errors"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/handler"
)

func outcomes(rs []handler.Result) []handler.Outcome {
	out := make([]handler.Outcome, len(rs))
	for i, r := range rs {
		out[i] = r.Outcome
	}
	return out
}

func equal(a, b []handler.Outcome) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func poisonOn(id string) handler.Func {
	return func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		if ev.ID == id {
			return handler.Effect{}, errors.New("poison")
		}
		return handler.Effect{State: &handler.StateWrite{Key: ev.ID}}, nil
	}
}

func TestBatchFailsOnlyThePoisonMessage(t *testing.T) {
	p, _, _ := setup(handler.ClaimComplete)
	evs := []handler.Event{event("a", 1, "a"), event("b", 1, "b"), event("c", 1, "c"), event("a", 1, "a")}
	rs := p.ProcessBatch(context.Background(), evs, poisonOn("b"))
	wantOut := []handler.Outcome{handler.Applied, handler.Failed, handler.Applied, handler.Duplicate}
	if got := outcomes(rs); !equal(got, wantOut) {
		t.Errorf("outcomes = %v; want %v", got, wantOut)
	}
	failed := handler.Failures(rs)
	if len(failed) != 1 || failed[0].Event.MessageID != "m-b" {
		t.Errorf("failures = %+v; want only m-b", failed)
	}
}

func TestOrderedBatchStopsAtFirstFailure(t *testing.T) {
	p, _, _ := setup(handler.ClaimComplete)
	evs := []handler.Event{event("a", 1, "a"), event("b", 1, "b"), event("c", 1, "c")}
	for i := range evs {
		evs[i].Group = "g1"
	}
	rs := p.ProcessBatch(context.Background(), evs, poisonOn("b"))
	wantOut := []handler.Outcome{handler.Applied, handler.Failed, handler.NotProcessed}
	if got := outcomes(rs); !equal(got, wantOut) {
		t.Errorf("outcomes = %v; want %v", got, wantOut)
	}
}

func TestCancelledBatchReportsTheRestUnprocessed(t *testing.T) {
	p, _, _ := setup(handler.ClaimComplete)
	ctx, cancel := context.WithCancel(context.Background())
	evs := []handler.Event{event("a", 1, "a"), event("b", 1, "b")}
	rs := p.ProcessBatch(ctx, evs, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		cancel() // the invocation ends while the first message runs
		return handler.Effect{}, nil
	})
	wantOut := []handler.Outcome{handler.Applied, handler.NotProcessed}
	if got := outcomes(rs); !equal(got, wantOut) {
		t.Errorf("outcomes = %v; want %v", got, wantOut)
	}
}

func TestBatchSurvivesAPanic(t *testing.T) {
	p, _, _ := setup(handler.ClaimComplete)
	evs := []handler.Event{event("a", 1, "a"), event("b", 1, "b"), event("c", 1, "c")}
	var rs []handler.Result
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("ProcessBatch let a handler's panic through: %v", r)
			}
		}()
		rs = p.ProcessBatch(context.Background(), evs, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
			if ev.ID == "b" {
				var items []int
				_ = items[len(ev.ID)] // a runtime panic: index out of range
			}
			return handler.Effect{State: &handler.StateWrite{Key: ev.ID}}, nil
		})
	}()
	wantOut := []handler.Outcome{handler.Applied, handler.Failed, handler.Applied}
	if got := outcomes(rs); !equal(got, wantOut) {
		t.Errorf("outcomes = %v; want %v", got, wantOut)
	}
}
