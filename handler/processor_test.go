package handler_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

// clock is a controllable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func event(id string, seq int64, data string) handler.Event {
	return handler.Event{Source: "orders", ID: id, CloudEvent: true, Sequence: strconv.FormatInt(seq, 10), Data: []byte(data), MessageID: "m-" + id}
}

// counter is a handler that counts its runs and writes the order's state.
type counter struct {
	mu   sync.Mutex
	runs map[string]int
	err  error
}

func (c *counter) handle(_ context.Context, ev handler.Event) (handler.Effect, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil {
		c.runs = map[string]int{}
	}
	c.runs[ev.ID]++
	if c.err != nil {
		return handler.Effect{}, c.err
	}
	return handler.Effect{
		State:  &handler.StateWrite{Key: "order-1", Attributes: map[string]any{"from": ev.ID}},
		Result: []byte("done " + ev.ID),
	}, nil
}

func setup(mode handler.Mode) (*handler.Processor, *memstore.Store, *clock) {
	s, c := memstore.New(), newClock()
	return handler.New(s, handler.Options{Mode: mode, Handler: "orders-placed", StateTable: "orders", Timeout: 30 * time.Second, TTL: time.Hour, Now: c.Now}), s, c
}

func bothModes(t *testing.T, f func(t *testing.T, mode handler.Mode)) {
	for _, mode := range []handler.Mode{handler.ClaimComplete, handler.Transactional} {
		t.Run(mode.String(), func(t *testing.T) { f(t, mode) })
	}
}

func want(t *testing.T, got handler.Result, outcome handler.Outcome) {
	t.Helper()
	if got.Outcome != outcome {
		t.Fatalf("outcome = %s (err %v); want %s", got.Outcome, got.Err, outcome)
	}
}

func stateOf(t *testing.T, s store.Store) *store.State {
	t.Helper()
	st, err := s.GetState(context.Background(), "orders", "order-1")
	if err != nil {
		t.Fatalf("GetState: %v", err)
	}
	return st
}

func TestDuplicateIsAcknowledgedWithStoredResult(t *testing.T) {
	bothModes(t, func(t *testing.T, mode handler.Mode) {
		p, _, c := setup(mode)
		h := &counter{}
		ev := event("e1", 1, "payload")
		want(t, p.Process(context.Background(), ev, h.handle), handler.Applied)
		c.Advance(10 * time.Minute)
		dup := p.Process(context.Background(), ev, h.handle)
		want(t, dup, handler.Duplicate)
		if string(dup.Output) != "done e1" {
			t.Errorf("duplicate output = %q; want the stored %q", dup.Output, "done e1")
		}
		if mode == handler.ClaimComplete && h.runs["e1"] != 1 {
			t.Errorf("handler ran %d times; want 1 (a duplicate must not run it)", h.runs["e1"])
		}
	})
}

func TestRecordExpiresAfterTTLEvenIfStillStored(t *testing.T) {
	bothModes(t, func(t *testing.T, mode handler.Mode) {
		p, s, c := setup(mode)
		h := &counter{}
		ev := event("e1", 1, "payload")
		want(t, p.Process(context.Background(), ev, h.handle), handler.Applied)
		c.Advance(time.Hour) // the TTL; the store has not deleted the record
		if s.Len() != 1 {
			t.Fatalf("store holds %d records; want the expired one still there", s.Len())
		}
		want(t, p.Process(context.Background(), ev, h.handle), handler.Applied)
	})
}

func TestFailedHandlerReleasesClaim(t *testing.T) {
	bothModes(t, func(t *testing.T, mode handler.Mode) {
		p, s, _ := setup(mode)
		h := &counter{err: errors.New("boom")}
		ev := event("e1", 1, "payload")
		res := p.Process(context.Background(), ev, h.handle)
		want(t, res, handler.Failed)
		if !errors.Is(res.Err, h.err) {
			t.Errorf("err = %v; want it to wrap the handler's error", res.Err)
		}
		if s.Len() != 0 {
			t.Errorf("store holds %d records after a failure; want 0 (claim released)", s.Len())
		}
		h.err = nil // an immediate retry runs
		want(t, p.Process(context.Background(), ev, h.handle), handler.Applied)
	})
}

func TestHeldClaimIsRetriedLaterAndLapsesAtTimeout(t *testing.T) {
	p, s, c := setup(handler.ClaimComplete)
	ev := event("e1", 1, "payload")
	// A delivery that crashed after claiming: its claim is left behind.
	now := c.Now()
	if _, err := s.Claim(context.Background(), store.Record{
		Key: "orders-placed/" + ev.Key(), Status: store.InProgress, Token: "crashed",
		ExpiresAt: now.Add(time.Hour), ClaimExpiresAt: now.Add(30 * time.Second), PayloadHash: hashOf(t, ev),
	}, now); err != nil {
		t.Fatal(err)
	}
	h := &counter{}
	want(t, p.Process(context.Background(), ev, h.handle), handler.InFlight)
	c.Advance(30 * time.Second)
	want(t, p.Process(context.Background(), ev, h.handle), handler.Applied)
}

func hashOf(t *testing.T, ev handler.Event) string {
	// Learn the hash the processor records by letting it record one.
	t.Helper()
	s := memstore.New()
	c := newClock()
	p := handler.New(s, handler.Options{StateTable: "orders", Now: c.Now})
	p.Process(context.Background(), ev, (&counter{}).handle)
	rec, err := s.Get(context.Background(), ev.Key(), c.Now())
	if err != nil {
		t.Fatal(err)
	}
	return rec.PayloadHash
}

func TestClaimLapsesAtInvocationDeadline(t *testing.T) {
	p, s, c := setup(handler.ClaimComplete)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev := event("e1", 1, "payload")
	var claimExpiry time.Time
	p.Process(ctx, ev, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		rec, err := s.Get(ctx, "orders-placed/"+ev.Key(), c.Now())
		if err != nil {
			t.Fatal(err)
		}
		claimExpiry = rec.ClaimExpiresAt
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > 5*time.Second {
			t.Errorf("handler context deadline = %v, %v; want within the invocation's 5s", dl, ok)
		}
		return handler.Effect{}, nil
	})
	if d := claimExpiry.Sub(c.Now()); d > 5*time.Second || d < 4*time.Second {
		t.Errorf("claim lapses %v after now; want the invocation's remaining ~5s, not the 30s timeout", d)
	}
}

func TestNoEffectIsWrittenPastTheDeadline(t *testing.T) {
	bothModes(t, func(t *testing.T, mode handler.Mode) {
		p, s, c := setup(mode)
		ev := event("e1", 1, "payload")
		res := p.Process(context.Background(), ev, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
			c.Advance(31 * time.Second) // longer than the 30s timeout
			return (&counter{}).handle(ctx, ev)
		})
		want(t, res, handler.DeadlineExceeded)
		if _, err := s.GetState(context.Background(), "orders", "order-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("state written past the deadline (GetState err = %v)", err)
		}
	})
}

func TestSameKeyDifferentPayloadIsReported(t *testing.T) {
	bothModes(t, func(t *testing.T, mode handler.Mode) {
		p, _, _ := setup(mode)
		h := &counter{}
		want(t, p.Process(context.Background(), event("e1", 1, "a"), h.handle), handler.Applied)
		res := p.Process(context.Background(), event("e1", 1, "b"), h.handle)
		want(t, res, handler.PayloadMismatch)
		if !errors.Is(res.Err, handler.ErrPayloadMismatch) || res.Outcome.Acknowledged() {
			t.Errorf("mismatch result = %+v; want an unacknowledged ErrPayloadMismatch", res)
		}
	})
}

func TestOutOfOrderEventIsAcknowledgedAsStale(t *testing.T) {
	bothModes(t, func(t *testing.T, mode handler.Mode) {
		p, s, _ := setup(mode)
		h := &counter{}
		want(t, p.Process(context.Background(), event("e5", 5, "x"), h.handle), handler.Applied)
		want(t, p.Process(context.Background(), event("e3", 3, "y"), h.handle), handler.Stale)
		if st := stateOf(t, s); st.Version != 5 || st.Attributes["from"] != "e5" {
			t.Errorf("state = %+v; want version 5 from e5", st)
		}
		want(t, p.Process(context.Background(), event("e7", 7, "z"), h.handle), handler.Applied)
		if st := stateOf(t, s); st.Version != 7 {
			t.Errorf("state version = %d; want 7", st.Version)
		}
		// A redelivery of the stale event stays acknowledged.
		if o := p.Process(context.Background(), event("e3", 3, "y"), h.handle).Outcome; !o.Acknowledged() {
			t.Errorf("redelivered stale event outcome = %s; want acknowledged", o)
		}
	})
}

func TestVersionFromUserFunction(t *testing.T) {
	s, c := memstore.New(), newClock()
	p := handler.New(s, handler.Options{StateTable: "orders", Now: c.Now, Version: func(ev handler.Event) (int64, error) {
		return strconv.ParseInt(ev.Attributes["rev"], 10, 64)
	}})
	ev := handler.Event{Source: "s", ID: "1", Attributes: map[string]string{"rev": "42"}}
	want(t, p.Process(context.Background(), ev, (&counter{}).handle), handler.Applied)
	if st := stateOf(t, s); st.Version != 42 {
		t.Errorf("version = %d; want 42 from the user's function", st.Version)
	}
}

func TestStateWriteWithoutVersionFails(t *testing.T) {
	p, s, _ := setup(handler.ClaimComplete)
	ev := handler.Event{Source: "s", ID: "1", MessageID: "m1"} // no sequence
	want(t, p.Process(context.Background(), ev, (&counter{}).handle), handler.Failed)
	if s.Len() != 0 {
		t.Errorf("claim not released after a version error")
	}
}

func TestHandlerPrefixSeparatesHandlers(t *testing.T) {
	s, c := memstore.New(), newClock()
	a := handler.New(s, handler.Options{Handler: "a", StateTable: "orders", Now: c.Now})
	b := handler.New(s, handler.Options{Handler: "b", StateTable: "orders", Now: c.Now})
	ev := event("e1", 1, "x")
	want(t, a.Process(context.Background(), ev, (&counter{}).handle), handler.Applied)
	want(t, b.Process(context.Background(), ev, (&counter{}).handle), handler.Applied)
}

func TestEventIsInContext(t *testing.T) {
	p, _, _ := setup(handler.ClaimComplete)
	ev := event("e1", 1, "x")
	p.Process(context.Background(), ev, func(ctx context.Context, _ handler.Event) (handler.Effect, error) {
		got, ok := handler.EventFromContext(ctx)
		if !ok || got.ID != "e1" {
			t.Errorf("EventFromContext = %+v, %v; want e1", got, ok)
		}
		return handler.Effect{}, nil
	})
}

func TestKeyEscapesSeparators(t *testing.T) {
	a := handler.Event{Source: "a/b", ID: "c", CloudEvent: true}
	b := handler.Event{Source: "a", ID: "b/c", CloudEvent: true}
	if a.Key() == b.Key() {
		t.Errorf("distinct identities share key %q", a.Key())
	}
	m := handler.Event{Source: "a/b", ID: "c"}
	if m.Key() == a.Key() {
		t.Errorf("a platform id and a CloudEvents id share key %q", a.Key())
	}
}

// retried answers a successful write as if its response was lost and the
// SDK's retry then found the record: ErrHeld with the caller's own record.
type retried struct{ *memstore.Store }

func (r retried) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	if _, err := r.Store.Claim(ctx, rec, now); err != nil {
		return nil, err
	}
	return &rec, store.ErrHeld
}

func (r retried) Commit(ctx context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	if _, err := r.Store.Commit(ctx, rec, now, w); err != nil {
		return nil, err
	}
	return &rec, store.ErrHeld
}

func TestRetriedWriteThatSucceededIsOurs(t *testing.T) {
	bothModes(t, func(t *testing.T, mode handler.Mode) {
		s, c := memstore.New(), newClock()
		p := handler.New(retried{s}, handler.Options{Mode: mode, StateTable: "orders", Now: c.Now})
		want(t, p.Process(context.Background(), event("e1", 1, "x"), (&counter{}).handle), handler.Applied)
		if st := stateOf(t, s); st.Version != 1 {
			t.Errorf("state version = %d; want 1", st.Version)
		}
	})
}

// A panic in the handler fails its own event only: the claim is released and
// the panic value and stack are in the error (issue 9 bug 1).
func TestPanicInHandlerFailsOnlyItsEvent(t *testing.T) {
	bothModes(t, func(t *testing.T, mode handler.Mode) {
		p, s, _ := setup(mode)
		boom := func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
			if ev.ID == "bad" {
				panic("nil map in order " + ev.ID)
			}
			return (&counter{}).handle(ctx, ev)
		}
		var res handler.Result
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Process let the handler's panic through: %v", r)
				}
			}()
			res = p.Process(context.Background(), event("bad", 1, "x"), boom)
		}()
		want(t, res, handler.Failed)
		var pe *handler.PanicError
		if !errors.As(res.Err, &pe) || pe.Value != "nil map in order bad" || len(pe.Stack) == 0 {
			t.Fatalf("err = %v; want a *handler.PanicError with the value and a stack", res.Err)
		}
		if !strings.Contains(res.Err.Error(), "nil map in order bad") || !strings.Contains(res.Err.Error(), "goroutine") {
			t.Errorf("error text %q lacks the panic value or the stack", res.Err)
		}
		if s.Len() != 0 {
			t.Errorf("store holds %d records after a panic; want 0 (claim released)", s.Len())
		}
	})
}

// A TTL shorter than the timeout must not let a duplicate claim while the
// first delivery still runs (issue 9 bug 2).
func TestRecordOutlivesItsClaim(t *testing.T) {
	s, c := memstore.New(), newClock()
	p := handler.New(s, handler.Options{StateTable: "orders", TTL: time.Minute, Timeout: 15 * time.Minute, Now: c.Now})
	h := &counter{}
	ev := event("e1", 1, "x")
	var dup handler.Result
	first := p.Process(context.Background(), ev, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		c.Advance(2 * time.Minute) // the first delivery is still running
		dup = p.Process(context.Background(), ev, h.handle)
		return h.handle(ctx, ev)
	})
	want(t, first, handler.Applied)
	want(t, dup, handler.InFlight)
	if h.runs["e1"] != 1 {
		t.Errorf("effect ran %d times; want 1", h.runs["e1"])
	}
}
