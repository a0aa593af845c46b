package simulate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
)

// plan is what is injected into one delivery.
type plan struct {
	stop     Fault // one of the Stop faults, or ""
	slow     Fault // SlowEffect or an overrun, or ""
	panics   bool
	inFlight bool
	outage   bool // planned
	down     bool // started
}

// batch is one invocation: its messages, its clock and what was injected.
type batch struct {
	tick  int // the tick it runs in (changes when it is parked)
	msgs  []*message
	plans map[string]*plan     // by message id
	dels  map[string]*Delivery // by message id
	rng   *rand.Rand           // used by the invocation's goroutine only
	wg    *sync.WaitGroup      // the running invocations of b.tick
	start time.Time            // true time at which it starts
	skew  time.Duration

	mu      sync.Mutex
	elapsed time.Duration
	dead    bool // killed (a crash or the deadline): no more store calls
	exiting bool // its goroutine is unwinding
	results []handler.Result
}

// Now is the invocation's clock.
func (b *batch) Now() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.start.Add(b.skew + b.elapsed)
}

// advance moves the invocation's clock by d and reports whether it is still
// before its deadline.
func (b *batch) advance(d time.Duration, timeout time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.elapsed += d
	return b.elapsed < timeout
}

func (r *run) newBatch(rng *rand.Rand, tick int, msgs []*message) *batch {
	cfg := r.cfg
	b := &batch{
		tick: tick, msgs: msgs, plans: map[string]*plan{}, dels: map[string]*Delivery{},
		rng:   rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
		start: r.base.Add(time.Duration(tick)*cfg.Tick + time.Duration(rng.Int64N(int64(cfg.Tick/4)+1))),
	}
	if cfg.MaxSkew > 0 {
		b.skew = time.Duration(rng.Int64N(2*int64(cfg.MaxSkew)+1)) - cfg.MaxSkew
	}
	stops := []Fault{StopBeforeWrite, StopAfterLastWrite}
	if cfg.Mode == handler.ClaimComplete {
		stops = append(stops, StopAfterEffect)
	}
	for _, m := range msgs {
		pl := &plan{}
		if rng.Float64() < cfg.StopRate {
			pl.stop = stops[rng.IntN(len(stops))]
		}
		pl.panics = rng.Float64() < cfg.PanicRate
		switch x := rng.Float64(); {
		case x < cfg.SlowRate:
			pl.slow = SlowEffect
		case x < cfg.SlowRate+cfg.OverrunRate:
			pl.slow = OverrunIntoMargin // or past the deadline: decided when it runs
		}
		pl.inFlight = rng.Float64() < cfg.InFlightRate
		pl.outage = rng.Float64() < cfg.OutageRate
		b.plans[m.id] = pl
		d := &Delivery{Tick: tick, MessageID: m.id, Event: m.event.Key(), returned: map[opKind]error{}}
		b.dels[m.id] = d
		r.mu.Lock()
		r.rep.Deliveries = append(r.rep.Deliveries, d)
		r.mu.Unlock()
	}
	return b
}

func (r *run) fire(d *Delivery, f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d.Faults = append(d.Faults, f)
}

func (r *run) violation(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Violations = append(r.rep.Violations, fmt.Sprintf(format, args...))
}

// die ends the invocation's goroutine: a crash or Lambda's kill. It cannot be
// recovered, so the processor's panic recovery does not turn it into a
// failure.
func (r *run) die(b *batch) {
	b.mu.Lock()
	b.dead, b.exiting = true, true
	b.mu.Unlock()
	runtime.Goexit()
}

func (r *run) invoke(ctx context.Context, b *batch) {
	r.sem <- struct{}{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				r.violation("tick %d: a panic escaped ProcessBatch and ended the invocation: %v", b.tick, v)
				b.mu.Lock()
				b.dead = true
				b.mu.Unlock()
			}
		}()
		r.process(ctx, b)
	}()
	<-done
	<-r.sem

	r.mu.Lock()
	defer r.mu.Unlock()
	if !b.dead {
		for i, m := range b.msgs {
			d := b.dels[m.id]
			res := b.results[i]
			d.Outcome, d.Output, d.Err = res.Outcome, res.Output, res.Err
			d.Acked = res.Outcome.Acknowledged()
		}
		r.finished = append(r.finished, b)
	}
	b.wg.Done()
}

func (r *run) process(ctx context.Context, b *batch) {
	cfg := r.cfg
	p := handler.New(&faulty{Store: cfg.Store, r: r, b: b}, handler.Options{
		Mode: cfg.Mode, Handler: "sim", TTL: cfg.TTL, Timeout: cfg.Timeout, Margin: cfg.Margin,
		Ordering: cfg.Ordering, StateTable: cfg.StateTable, Now: b.Now,
	})
	evs := make([]handler.Event, len(b.msgs))
	for i, m := range b.msgs {
		e := m.event
		evs[i] = handler.Event{
			Source: e.Source, ID: e.ID, CloudEvent: true,
			Sequence:  e.Sequence(),
			Data:      fmt.Appendf(nil, `{"entity":%q,"version":%d}`, e.Entity, e.Version),
			MessageID: m.id, ReceiveCount: m.received,
		}
	}
	results := p.ProcessBatch(ctx, evs, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		return r.effect(b, ev)
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	b.results = results
}

// errPoison is the poison events' handler error.
var errPoison = errors.New("poison event")

// effect is the user's handler: one state write of the event's entity, after
// the injected panic, slowness or overrun.
func (r *run) effect(b *batch, ev handler.Event) (handler.Effect, error) {
	cfg := r.cfg
	m := b.msg(ev.MessageID)
	d, pl, e := b.dels[m.id], b.plans[m.id], m.event
	entry := b.Now()
	if e.Poison {
		return handler.Effect{}, errPoison
	}
	if pl.panics {
		r.fire(d, Panicked)
		panic("simulated panic in the effect of " + e.Key())
	}
	// The claim's deadline and margin: exact in claim/complete; else the
	// processor's reading of now plus the timeout, which is this entry, and
	// no margin.
	deadline, margin := entry.Add(cfg.Timeout), time.Duration(0)
	if c := d.claim; c != nil {
		deadline, margin = c.rec.ClaimExpiresAt, r.margin(c)
	}
	dur := time.Duration(b.rng.Int64N(int64(100 * time.Millisecond)))
	switch pl.slow {
	case SlowEffect:
		// Long, but done before the margin (and past a short TTL).
		room := deadline.Sub(entry) - margin - 2*time.Second
		if room > 0 {
			dur = room/2 + time.Duration(b.rng.Int64N(int64(room/2)+1))
			r.fire(d, SlowEffect)
		}
	case OverrunIntoMargin:
		// Into the margin, or past the deadline (where Lambda kills it).
		end := deadline.Add(-margin + time.Duration(b.rng.Int64N(int64(margin+2*time.Second))))
		dur = end.Sub(entry)
	}
	r.sleep(b, d, dur, pl.slow == OverrunIntoMargin)
	return handler.Effect{
		State:  &handler.StateWrite{Key: e.Entity, Attributes: map[string]any{"event": e.Key()}},
		Result: []byte(e.Key()),
	}, nil
}

// margin is the processor's safety margin for claim c: Config.Margin, at
// most a quarter of the claim's span.
func (r *run) margin(c *op) time.Duration {
	return min(r.cfg.Margin, c.rec.ClaimExpiresAt.Sub(c.now)/4)
}

// sleep advances b's clock by dur, parking the invocation if that crosses
// into a later tick, and kills it if that passes its deadline.
func (r *run) sleep(b *batch, d *Delivery, dur time.Duration, overrun bool) {
	alive := b.advance(dur, r.cfg.Timeout)
	if !alive {
		if overrun {
			r.fire(d, OverrunKilled)
		} else {
			r.fire(d, KilledAtDeadline)
		}
		r.die(b)
	}
	if overrun {
		r.fire(d, OverrunIntoMargin)
	}
	b.mu.Lock()
	trueNow := b.start.Add(b.elapsed)
	b.mu.Unlock()
	r.park(b, r.tickOf(trueNow))
}

func (r *run) tickOf(t time.Time) int { return int(t.Sub(r.base) / r.cfg.Tick) }

func (b *batch) msg(id string) *message {
	for _, m := range b.msgs {
		if m.id == id {
			return m
		}
	}
	panic("simulate: unknown message " + id)
}
