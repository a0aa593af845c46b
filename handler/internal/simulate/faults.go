package simulate

import (
	"context"
	"errors"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

// opKind is a kind of store call.
type opKind int

const (
	opClaim opKind = iota + 1
	opPutState
	opComplete
	opRelease
	opCommit
	opGet
	opPutOnce
)

var opNames = [...]string{"", "claim", "state write", "completion", "release", "commit", "get", "single write"}

func (k opKind) String() string { return opNames[k] }

// op is one call that reached the store under test, in the order calls
// started (start) and returned (end).
type op struct {
	kind       opKind
	d          *Delivery
	start, end int64
	// now is the caller's clock: the now argument of a claim or commit, the
	// sender's clock reading for a state write.
	now time.Time
	rec store.Record      // claim, commit
	exp time.Time         // completion
	w   *store.StateWrite // state write, commit
	err error             // what the store returned
}

// accepted reports a call the store took: it returned no error, or, for a claim, met the caller's
// own record (a retry whose first attempt took effect unanswered), which the processor takes as
// its claim.
func (o *op) accepted() bool {
	var own ownClaim
	return o.err == nil || errors.As(o.err, &own)
}

// ownClaim is the "held" answer to a claim whose holder is the caller itself.
type ownClaim struct{ error }

func (e ownClaim) Unwrap() error { return e.error }

// The injected store errors.
var (
	ErrThrottled    = errors.New("simulated throttling: the call did not reach the store")
	ErrLostResponse = errors.New("simulated lost response: the call took effect, its response did not arrive")
	errKilled       = errors.New("simulated crash: the invocation has ended")
)

// faulty wraps the store under test for one invocation: it kills the
// invocation at its stop points and deadline, injects faults, advances the
// invocation's clock by each call's latency, and records every call.
type faulty struct {
	store.Store
	r *run
	b *batch
}

// The kinds of a mode's first write, its state write and its last write.
func writes(mode handler.Mode) (first, state, last opKind) {
	switch mode {
	case handler.ClaimComplete:
		return opClaim, opPutState, opComplete
	case handler.SingleWrite:
		return opPutOnce, opPutOnce, opPutOnce
	}
	return opCommit, opCommit, opCommit
}

// call makes one store call of kind for the delivery in ctx through do,
// with the injected faults, and returns what the processor sees.
func (s *faulty) call(ctx context.Context, kind opKind, o op, do func() error) error {
	r, b, cfg := s.r, s.b, s.r.cfg
	ev, _ := handler.EventFromContext(ctx)
	d, pl := b.dels[ev.MessageID], b.plans[ev.MessageID]
	if d == nil {
		// A call outside any delivery of this invocation.
		return do()
	}
	b.mu.Lock()
	dead, exiting := b.dead, b.exiting
	b.mu.Unlock()
	if exiting {
		// Deferred code of a goroutine that is ending: nothing reaches the store.
		return errKilled
	}
	if dead {
		r.die(b)
	}
	// A call takes 1-20 ms; Lambda kills the invocation at its deadline.
	if !b.advance(time.Millisecond+time.Duration(b.rng.Int64N(int64(19*time.Millisecond))), cfg.Timeout) {
		r.fire(d, KilledAtDeadline)
		r.die(b)
	}
	write := kind != opGet
	first, state, last := writes(cfg.Mode)
	if kind == first && pl.stop == StopBeforeWrite {
		r.fire(d, StopBeforeWrite)
		r.die(b)
	}
	if kind == opComplete && pl.stop == StopAfterEffect {
		r.fire(d, StopAfterEffect)
		r.die(b)
	}
	o.kind, o.d = kind, d
	if kind == opPutState || kind == opPutOnce {
		o.now = b.Now()
	}
	if kind == state && pl.inFlight {
		// Sent now, it lands after the invocation's deadline, once the
		// message is visible again: the invocation is over.
		pl.inFlight = false
		r.fire(d, WriteInFlight)
		b.mu.Lock()
		b.dead = true
		b.mu.Unlock()
		r.park(b, b.tick+int((cfg.Timeout+2*cfg.Tick-1)/cfg.Tick)+b.rng.IntN(2))
		_ = s.record(&o, do) // nobody is left to see the result
		r.die(b)
	}
	if pl.down || b.rng.Float64() < cfg.ThrottleRate {
		r.fire(d, Throttled)
		d.returned[kind] = ErrThrottled
		return ErrThrottled
	}
	calls, lost := 1, false
	if write {
		switch x := b.rng.Float64(); {
		case x < cfg.LostResponseRate:
			lost = true
			r.fire(d, LostResponse)
		case x < cfg.LostResponseRate+cfg.RetryRate:
			calls = 2
			r.fire(d, RetriedLostResponse)
		}
	}
	var err error
	for range calls {
		c := o
		err = s.record(&c, do)
	}
	if lost {
		err = ErrLostResponse
	}
	d.returned[kind] = err
	if kind == state && err == nil && pl.outage {
		pl.down = true
		r.fire(d, Outage)
	}
	if kind == last && pl.stop == StopAfterLastWrite {
		r.fire(d, StopAfterLastWrite)
		r.die(b)
	}
	return err
}

// record makes the call and logs it.
func (s *faulty) record(o *op, do func() error) error {
	r := s.r
	if r.cfg.Serial {
		r.serial.Lock()
		defer r.serial.Unlock()
	}
	o.start = r.nextSeq()
	o.err = do()
	o.end = r.nextSeq()
	r.mu.Lock()
	defer r.mu.Unlock()
	if o.kind == opClaim && o.accepted() {
		o.d.claim = o
	}
	r.rep.ops = append(r.rep.ops, o)
	return o.err
}

func (s *faulty) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	var held *store.Record
	err := s.call(ctx, opClaim, op{rec: rec, now: now}, func() (err error) {
		held, err = s.Store.Claim(ctx, rec, now)
		if errors.Is(err, store.ErrHeld) && held != nil && held.Token == rec.Token {
			return ownClaim{err}
		}
		return err
	})
	if errors.Is(err, ErrThrottled) || errors.Is(err, ErrLostResponse) {
		return nil, err
	}
	return held, err
}

func (s *faulty) PutState(ctx context.Context, w store.StateWrite) error {
	return s.call(ctx, opPutState, op{w: &w}, func() error { return s.Store.PutState(ctx, w) })
}

func (s *faulty) PutStateOnce(ctx context.Context, w store.StateWrite) error {
	return s.call(ctx, opPutOnce, op{w: &w}, func() error { return s.Store.PutStateOnce(ctx, w) })
}

func (s *faulty) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	return s.call(ctx, opComplete, op{rec: store.Record{Key: key, Token: token}, exp: expiresAt}, func() error {
		return s.Store.Complete(ctx, key, token, result, expiresAt)
	})
}

func (s *faulty) Release(ctx context.Context, key, token string) error {
	return s.call(ctx, opRelease, op{rec: store.Record{Key: key, Token: token}}, func() error {
		return s.Store.Release(ctx, key, token)
	})
}

func (s *faulty) Get(ctx context.Context, key string, now time.Time) (*store.Record, error) {
	var rec *store.Record
	err := s.call(ctx, opGet, op{now: now}, func() (err error) {
		rec, err = s.Store.Get(ctx, key, now)
		return err
	})
	if errors.Is(err, ErrThrottled) {
		return nil, err
	}
	return rec, err
}

func (s *faulty) Commit(ctx context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	var held *store.Record
	err := s.call(ctx, opCommit, op{rec: rec, now: now, w: w}, func() (err error) {
		held, err = s.Store.Commit(ctx, rec, now, w)
		return err
	})
	if errors.Is(err, ErrThrottled) || errors.Is(err, ErrLostResponse) {
		return nil, err
	}
	return held, err
}
