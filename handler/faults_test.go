package handler_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

var errInjected = errors.New("injected store fault")

// faulty fails chosen store calls: the next fails[method] calls of that
// method return errInjected, before writing anything or, when lost is set,
// after the write was applied (a response lost on the way back).
type faulty struct {
	*memstore.Store
	mu    sync.Mutex
	fails map[string]int
	lost  bool
	calls map[string]int
}

func newFaulty(method string, n int, lost bool) *faulty {
	return &faulty{Store: memstore.New(), fails: map[string]int{method: n}, lost: lost, calls: map[string]int{}}
}

// fault counts a call and says whether it fails.
func (f *faulty) fault(method string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if f.fails[method] > 0 {
		f.fails[method]--
		return true
	}
	return false
}

func (f *faulty) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	if !f.fault("Claim") {
		return f.Store.Claim(ctx, rec, now)
	}
	if f.lost {
		_, _ = f.Store.Claim(ctx, rec, now)
	}
	return nil, errInjected
}

func (f *faulty) Complete(ctx context.Context, key, token string, result []byte, exp time.Time) error {
	if !f.fault("Complete") {
		return f.Store.Complete(ctx, key, token, result, exp)
	}
	if f.lost {
		_ = f.Store.Complete(ctx, key, token, result, exp)
	}
	return errInjected
}

func (f *faulty) Release(ctx context.Context, key, token string) error {
	if !f.fault("Release") {
		return f.Store.Release(ctx, key, token)
	}
	if f.lost {
		_ = f.Store.Release(ctx, key, token)
	}
	return errInjected
}

func (f *faulty) PutState(ctx context.Context, w store.StateWrite) error {
	if !f.fault("PutState") {
		return f.Store.PutState(ctx, w)
	}
	if f.lost {
		_ = f.Store.PutState(ctx, w)
	}
	return errInjected
}

func (f *faulty) PutStateOnce(ctx context.Context, w store.StateWrite) error {
	if !f.fault("PutStateOnce") {
		return f.Store.PutStateOnce(ctx, w)
	}
	if f.lost {
		_ = f.Store.PutStateOnce(ctx, w)
	}
	return errInjected
}

func (f *faulty) Commit(ctx context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	if !f.fault("Commit") {
		return f.Store.Commit(ctx, rec, now, w)
	}
	if f.lost {
		_, _ = f.Store.Commit(ctx, rec, now, w)
	}
	return nil, errInjected
}

// Every store error while claiming, writing state, committing or completing
// fails the event: never acknowledged as applied. Where the write went
// through and only its response was lost, the redelivery is applied or a
// duplicate, never lost.
func TestStoreErrorsAreNeverAcknowledged(t *testing.T) {
	for _, tc := range []struct {
		mode   handler.Mode
		method string
		// redelivery is the outcome of a redelivery after the claim lapsed.
		redelivery, redeliveryLost handler.Outcome
	}{
		{handler.ClaimComplete, "Claim", handler.Applied, handler.Applied},
		{handler.ClaimComplete, "PutState", handler.Applied, handler.Applied},
		{handler.ClaimComplete, "Complete", handler.Applied, handler.Duplicate},
		{handler.Transactional, "Commit", handler.Applied, handler.Duplicate},
		{handler.SingleWrite, "PutStateOnce", handler.Applied, handler.Duplicate},
	} {
		for _, lost := range []bool{false, true} {
			name := tc.mode.String() + "/" + tc.method
			if lost {
				name += "/response-lost"
			}
			t.Run(name, func(t *testing.T) {
				n := 1
				if tc.method == "Complete" {
					n = 100 // every retry fails too
				}
				f, c := newFaulty(tc.method, n, lost), newClock()
				p := handler.New(f, handler.Options{Mode: tc.mode, StateTable: "orders", Timeout: 30 * time.Second, TTL: time.Hour, Now: c.Now})
				h := &counter{}
				ev := event("e1", 1, "x")
				res := p.Process(context.Background(), ev, h.handle)
				if res.Outcome.Acknowledged() || res.Outcome != handler.Failed {
					t.Fatalf("outcome = %s; want failed (an error in %s must not be acknowledged)", res.Outcome, tc.method)
				}
				if !errors.Is(res.Err, errInjected) {
					t.Errorf("err = %v; want it to wrap the store's error", res.Err)
				}
				f.mu.Lock()
				f.fails = map[string]int{}
				f.mu.Unlock()
				c.Advance(31 * time.Second) // any claim left behind lapses
				wantRedelivery := tc.redelivery
				if lost {
					wantRedelivery = tc.redeliveryLost
				}
				want(t, p.Process(context.Background(), ev, h.handle), wantRedelivery)
				if st := stateOf(t, f.Store); st.Version != 1 || st.Attributes["from"] != "e1" {
					t.Errorf("state = %+v; want e1's version 1", st)
				}
			})
		}
	}
}

func TestCompleteIsRetriedBeforeGivingUp(t *testing.T) {
	f, c := newFaulty("Complete", 2, false), newClock()
	p := handler.New(f, handler.Options{StateTable: "orders", Timeout: 30 * time.Second, Now: c.Now})
	ev := event("e1", 1, "x")
	want(t, p.Process(context.Background(), ev, (&counter{}).handle), handler.Applied)
	if f.calls["Complete"] != 3 {
		t.Errorf("Complete called %d times; want 3 (two failures, then success)", f.calls["Complete"])
	}
	want(t, p.Process(context.Background(), ev, (&counter{}).handle), handler.Duplicate)

	f = newFaulty("Complete", 100, false)
	p = handler.New(f, handler.Options{StateTable: "orders", Timeout: 30 * time.Second, Now: c.Now})
	want(t, p.Process(context.Background(), ev, (&counter{}).handle), handler.Failed)
	if f.calls["Complete"] < 2 {
		t.Errorf("Complete called %d times; want it retried", f.calls["Complete"])
	}
}

// A Release that fails after a handler error still fails the event.
func TestFailedReleaseStillFails(t *testing.T) {
	f, c := newFaulty("Release", 1, false), newClock()
	p := handler.New(f, handler.Options{StateTable: "orders", Timeout: 30 * time.Second, Now: c.Now})
	res := p.Process(context.Background(), event("e1", 1, "x"), (&counter{err: errors.New("boom")}).handle)
	want(t, res, handler.Failed)
}
