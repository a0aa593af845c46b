package handler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

func allModes(t *testing.T, f func(t *testing.T, mode handler.Mode)) {
	for _, mode := range []handler.Mode{handler.ClaimComplete, handler.Transactional, handler.SingleWrite} {
		t.Run(mode.String(), func(t *testing.T) { f(t, mode) })
	}
}

func TestSingleWriteDecidesDuplicatesByVersion(t *testing.T) {
	p, s, _ := setup(handler.SingleWrite)
	h := &counter{}
	ctx := context.Background()
	first := p.Process(ctx, event("e5", 5, "x"), h.handle)
	want(t, first, handler.Applied)
	if string(first.Output) != "done e5" {
		t.Errorf("output = %q; want the handler's result", first.Output)
	}
	want(t, p.Process(ctx, event("e5", 5, "x"), h.handle), handler.Duplicate)
	want(t, p.Process(ctx, event("e3", 3, "y"), h.handle), handler.Stale)
	want(t, p.Process(ctx, event("e7", 7, "z"), h.handle), handler.Applied)
	if s.Len() != 0 {
		t.Errorf("single-write mode left %d dedup records; want none", s.Len())
	}
	if st := stateOf(t, s); st.Version != 7 || st.Event != event("e7", 7, "z").Key() {
		t.Errorf("state = %+v; want version 7 written by e7", st)
	}
	// The handler runs on every delivery: only its state write is once.
	if h.runs["e5"] != 2 {
		t.Errorf("handler ran %d times for e5; want 2 (single-write does not skip the handler)", h.runs["e5"])
	}
	noState := p.Process(ctx, event("e9", 9, "w"), func(context.Context, handler.Event) (handler.Effect, error) { return handler.Effect{}, nil })
	want(t, noState, handler.Failed)
}

func TestSameVersionFromAnotherEventIsAConflict(t *testing.T) {
	allModes(t, func(t *testing.T, mode handler.Mode) {
		p, s, _ := setup(mode)
		h := &counter{}
		ctx := context.Background()
		want(t, p.Process(ctx, event("a", 5, "x"), h.handle), handler.Applied)
		res := p.Process(ctx, event("b", 5, "y"), h.handle)
		want(t, res, handler.Conflict)
		if res.Outcome.Acknowledged() || !errors.Is(res.Err, store.ErrConflict) {
			t.Errorf("conflict = %+v; want an unacknowledged ErrConflict", res)
		}
		if st := stateOf(t, s); st.Attributes["from"] != "a" {
			t.Errorf("state = %+v; want a's (first wins)", st)
		}
		if mode == handler.ClaimComplete && s.Len() != 1 {
			t.Errorf("store holds %d records; want only a's (b's claim released)", s.Len())
		}
	})
}

func TestLexicographicVersions(t *testing.T) {
	allModes(t, func(t *testing.T, mode handler.Mode) {
		s, c := memstore.New(), newClock()
		p := handler.New(s, handler.Options{Mode: mode, StateTable: "orders", Ordering: handler.Lexicographic, Now: c.Now})
		h := &counter{}
		ctx := context.Background()
		seq := func(id, sq string) handler.Event {
			ev := event(id, 1, id)
			ev.Sequence = sq
			return ev
		}
		want(t, p.Process(ctx, seq("a", "2026-01-02T10:00:00Z"), h.handle), handler.Applied)
		want(t, p.Process(ctx, seq("b", "2026-01-02T09:59:59Z"), h.handle), handler.Stale)
		want(t, p.Process(ctx, seq("c", "2026-01-02T10:00:01Z"), h.handle), handler.Applied)
		if st := stateOf(t, s); st.Sequence != "2026-01-02T10:00:01Z" || st.Version != 0 {
			t.Errorf("state = %+v; want sequence 2026-01-02T10:00:01Z", st)
		}
		// A numeric version arriving for a lexicographically versioned
		// entity is an error, never stale.
		num := handler.New(s, handler.Options{Mode: mode, StateTable: "orders", Now: c.Now})
		res := num.Process(ctx, event("d", 99, "d"), h.handle)
		want(t, res, handler.Failed)
		if !errors.Is(res.Err, store.ErrVersionType) {
			t.Errorf("err = %v; want ErrVersionType", res.Err)
		}
	})
}

func TestLexicographicNeedsASequence(t *testing.T) {
	p := handler.New(memstore.New(), handler.Options{StateTable: "orders", Ordering: handler.Lexicographic})
	ev := event("a", 1, "a")
	ev.Sequence = ""
	want(t, p.Process(context.Background(), ev, (&counter{}).handle), handler.Failed)
}

func TestMarginStopsTheWriteBeforeTheDeadline(t *testing.T) {
	s, c := memstore.New(), newClock()
	p := handler.New(s, handler.Options{StateTable: "orders", Timeout: 30 * time.Second, Margin: 2 * time.Second, Now: c.Now})
	var left time.Duration
	res := p.Process(context.Background(), event("e1", 1, "x"), func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		dl, _ := ctx.Deadline()
		left = time.Until(dl)
		c.Advance(28*time.Second + time.Millisecond) // inside the margin
		return (&counter{}).handle(ctx, ev)
	})
	want(t, res, handler.DeadlineExceeded)
	if left > 28*time.Second {
		t.Errorf("handler context had %v left; want at most the 28s before the margin", left)
	}
	if _, err := s.GetState(context.Background(), "orders", "order-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("state written inside the margin (GetState err = %v)", err)
	}
}

func TestDefaultMarginIsAQuarterOfAShortClaim(t *testing.T) {
	s, c := memstore.New(), newClock()
	p := handler.New(s, handler.Options{StateTable: "orders", Timeout: 4 * time.Second, Now: c.Now})
	res := p.Process(context.Background(), event("e1", 1, "x"), func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		c.Advance(2900 * time.Millisecond) // before 4s - 1s
		return (&counter{}).handle(ctx, ev)
	})
	want(t, res, handler.Applied)
}

// Entities that other code also writes: an item without a version takes
// the event's state and keeps its other attributes; a version of another
// type fails the event (issue 9 bugs 3 and 4, through the processor).
func TestEntitiesOtherCodeWrites(t *testing.T) {
	allModes(t, func(t *testing.T, mode handler.Mode) {
		p, s, _ := setup(mode)
		ctx := context.Background()
		s.WriteItem("orders", "order-1", map[string]any{"owner": "billing"})
		want(t, p.Process(ctx, event("e1", 1, "x"), (&counter{}).handle), handler.Applied)
		if st := stateOf(t, s); st.Version != 1 || st.Attributes["owner"] != "billing" || st.Attributes["from"] != "e1" {
			t.Errorf("state = %+v; want e1's version 1 beside owner billing", st)
		}
		s.WriteItem("orders", "order-1", map[string]any{"version": "v7"})
		res := p.Process(ctx, event("e2", 2, "y"), (&counter{}).handle)
		want(t, res, handler.Failed)
		if !errors.Is(res.Err, store.ErrVersionType) {
			t.Errorf("err = %v; want ErrVersionType", res.Err)
		}
	})
}
