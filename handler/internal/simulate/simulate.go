// Package simulate is a delivery simulator for package handler: it plays an
// at-least-once, out-of-order queue (SQS standard semantics with a redrive
// policy) against handler.Processor on any store, with a clock per
// invocation, injected crashes and store faults, and an oracle that checks
// each mode's guarantee.
//
// # The world
//
// Time runs in ticks (Config.Tick). At each tick every visible message is
// received (its receive count goes up), batched, and handed to an invocation;
// invocations run concurrently on Config.Workers workers. A received message
// is invisible for the visibility timeout (the handler timeout plus one tick,
// rounded up to ticks); if its invocation did not acknowledge it by then it
// is visible again, or moves to the dead-letter list once received
// Config.MaxReceive times. Copies of an event are sent at different ticks.
//
// Each invocation has its own clock: the tick's time, plus a random start
// offset within the tick, plus a skew of up to ±Config.MaxSkew, advanced by
// every store call's latency and by the effect's duration. Lambda kills an
// invocation at its deadline (its start plus the handler timeout, on its own
// clock): nothing of its batch is acknowledged and it makes no store call
// after that point; a write it sent before remains in flight and may land
// later.
//
// Events come from Config.Sources sources whose ids collide (src-0/ev-3 and
// src-1/ev-3 are different events); versions grow per entity, but a share of
// events (Config.EqualVersionRate) reuse the version of another event of
// their entity. Before the run, other code writes an attribute ("other") on
// some entities without any version; with Config.Other set it also keeps
// writing it during the run.
//
// # Injected faults
//
// Per delivery: a crash before its first write, between the state write and
// the completion (claim/complete), or after its last write; a panic in the
// effect; an effect that runs long (past a short TTL, within the deadline);
// an effect that overruns (into the safety margin, or past the invocation's
// deadline); a state write that is in flight at the deadline and lands after
// the message was redelivered. Per store call: throttling (the call fails
// before reaching the store), a lost response (the call took effect, the
// caller gets an error), and a lost response that the SDK retries (the call is
// made twice); and an outage of the store from the moment a delivery's state
// write succeeded (every later call of it is throttled, so completion retries
// run out). A poison share of events always fails in the handler.
//
// Records expire mid-run when Config.TTL is a few ticks.
//
// # The oracle (Report.Check)
//
// In every mode:
//   - no panic escapes Processor.ProcessBatch, and a panicking effect fails
//     its event;
//   - every poison event is dead-lettered and never applied; a good event
//     is dead-lettered only after deliveries that each failed for an
//     injected cause or whose batch was killed (a failure always has one:
//     poison, panic, throttling, lost response);
//   - every event that is not dead-lettered is applied, or refused as stale;
//   - Applied means this delivery's state write (transactional: commit) was
//     accepted by the store and every claim, write, commit and completion it
//     made returned success to the processor (a completion may return
//     ErrClaimLost: the claim lapsed after the state write and another
//     delivery took it): an error is never acknowledged as applied;
//   - Stale means the store refused this delivery's write because a newer
//     version is stored; Conflict means the store refused it because another
//     event with the same version was applied to the entity; Duplicate means the event was applied (or
//     found stale) before, and in the modes with a dedup record its output
//     is the stored result;
//   - an event is never reported as a payload mismatch (identities are
//     source + id, and a colliding id from another source is another event);
//   - first wins: of several events with the same version of one entity,
//     only one is ever applied;
//   - each entity ends at the highest version (in the configured ordering)
//     among its events that were applied or not dead-lettered, written by
//     an event of that version that was applied, whose identity is recorded;
//     the attribute other code wrote last is intact.
//
// Claim/complete: an event's state write is accepted more than once only
// inside the documented windows, pair by pair: the later delivery claimed
// after the earlier applier's claim had lapsed (on the later delivery's
// clock) or was released, and the earlier applier never completed its record
// (a crash, a failed or lost completion, a write in flight at the deadline,
// clock skew); or the earlier applier's record was completed and the later
// delivery claimed at or after that record's expiry (re-application after
// the TTL). No state write is sent within the safety margin before its
// claim's deadline, on the sender's clock.
//
// Transactional: an event is applied more than once only after the TTL: the
// later commit's clock reads at or after the expiry of the record that the
// earlier accepted commit wrote.
//
// In both, a store may keep a record longer than asked (DynamoDB rounds
// expires_at up to the second) but never shorter: the window opens no
// earlier than the record's expiry.
//
// Single-write: an event's state write is accepted at most once, whatever
// crashes, retries, redeliveries or expiries happen; a duplicate is
// recognised from the stored event identity.
package simulate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

// Config is one simulation. Zero values take the defaults noted.
type Config struct {
	Mode       handler.Mode
	Store      store.Store
	StateTable string
	// Events over Entities, processed by Workers concurrent invocations.
	Events, Entities, Workers int
	// Sources is the number of event sources; their ids collide (default 3).
	Sources int
	// MaxCopies: each event is sent as 1..MaxCopies messages (default 5),
	// at ticks spread over SendTicks (default 8).
	MaxCopies, SendTicks int
	// BatchSize is the number of messages per invocation (default 5).
	BatchSize int
	// MaxReceive is the redrive policy's maxReceiveCount (default 12).
	MaxReceive int
	// Timeout is the handler timeout (default 30s); TTL the dedup TTL
	// (default 24h); Tick the simulated time between receives (default 10s).
	Timeout, TTL, Tick time.Duration
	// Margin is the processor's safety margin before a claim's deadline
	// (default handler.DefaultMargin).
	Margin time.Duration
	// Ordering is the processor's version ordering. Versions are sent as the
	// CloudEvents sequence, in base 10 without padding, so that
	// lexicographic ordering differs from numeric ("10" < "9").
	Ordering handler.Ordering
	// MaxSkew bounds each invocation's clock skew, either way (default 0).
	MaxSkew time.Duration

	// Rates of the per-delivery faults (chance per delivery), default 0:
	// StopRate a crash at one of the stop points; PanicRate a panic in the
	// effect; SlowRate an effect that runs long (within the deadline);
	// OverrunRate one that overruns; InFlightRate a state write in flight at
	// the deadline. PoisonRate is the share of events the handler rejects
	// (default 0.01). EqualVersionRate is the share of events that reuse the
	// version of the previous event of their entity.
	StopRate, PanicRate, SlowRate, OverrunRate, InFlightRate, PoisonRate, EqualVersionRate float64
	// Rates of the per-call store faults (chance per call), default 0.
	ThrottleRate, LostResponseRate, RetryRate float64
	// OutageRate is the chance per delivery that the store refuses every
	// call (throttling) from the moment its state write has succeeded:
	// completion retries are exhausted.
	OutageRate float64

	// OtherSeed, when set, writes attribute "other" = n on an entity the way
	// the user's other code does (no version), before the run.
	OtherSeed func(ctx context.Context, entity string, n int) error
	// Other, when set, does the same during the run, concurrently with the
	// handler's writes (it must not touch the version or other attributes).
	Other func(ctx context.Context, entity string, n int) error

	// Serial makes one store call at a time: moto checks a write's condition
	// and applies the write without a lock, so concurrent conditional writes
	// of one item can all succeed (seen under CPU load), and its
	// TransactWriteItems can lose other writers' items.
	Serial bool
	Seed   uint64
}

func (cfg *Config) defaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&cfg.Sources, 3)
	def(&cfg.MaxCopies, 5)
	def(&cfg.SendTicks, 8)
	def(&cfg.BatchSize, 5)
	def(&cfg.MaxReceive, 12)
	def(&cfg.Workers, 1)
	def(&cfg.Entities, 1)
	if cfg.PoisonRate == 0 {
		cfg.PoisonRate = 0.01
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.TTL == 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.Tick == 0 {
		cfg.Tick = 10 * time.Second
	}
	if cfg.Margin == 0 {
		cfg.Margin = handler.DefaultMargin
	}
}

// Event is one generated event.
type Event struct {
	Source, ID string
	Entity     string
	Version    int64
	Poison     bool
}

// Key is the event's identity, source + id.
func (e Event) Key() string { return e.Source + "/" + e.ID }

// Sequence is the event's CloudEvents sequence attribute: its version.
func (e Event) Sequence() string { return strconv.FormatInt(e.Version, 10) }

// compare orders two versions as ordering says.
func compare(ordering handler.Ordering, a, b int64) int {
	if ordering == handler.Lexicographic {
		return strings.Compare(strconv.FormatInt(a, 10), strconv.FormatInt(b, 10))
	}
	return cmp.Compare(a, b)
}

// Delivery is one receive of one message, with what became of it.
type Delivery struct {
	Tick      int
	MessageID string
	Event     string // Event.Key
	// Faults lists what was injected into this delivery and fired.
	Faults []Fault
	// Outcome is the processor's outcome, zero when the invocation ended
	// before it returned.
	Outcome handler.Outcome
	Output  []byte
	Err     error
	// Acked: the invocation returned and acknowledged the message.
	Acked bool

	returned map[opKind]error // the last error each kind of call returned to the processor
	claim    *op              // the claim the store accepted for this delivery
}

// Fault is an injected fault that fired.
type Fault string

// The faults.
const (
	StopBeforeWrite     Fault = "crash-before-first-write"
	StopAfterEffect     Fault = "crash-between-effect-and-completion"
	StopAfterLastWrite  Fault = "crash-after-last-write"
	Panicked            Fault = "panic-in-effect"
	SlowEffect          Fault = "effect-runs-long"
	OverrunIntoMargin   Fault = "effect-overruns-into-margin"
	OverrunKilled       Fault = "effect-overruns-deadline"
	WriteInFlight       Fault = "write-in-flight-at-deadline"
	Throttled           Fault = "throttled"
	LostResponse        Fault = "lost-response"
	RetriedLostResponse Fault = "retried-lost-response"
	KilledAtDeadline    Fault = "killed-at-deadline"
	Outage              Fault = "store-outage-after-state-write"
)

type message struct {
	id        string
	event     *Event
	received  int
	visibleAt int // tick
	acked     bool
	dead      bool
}

// Run runs a simulation to completion: until the queue is empty and every
// invocation has ended.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x3f))
	rep := newReport(cfg)
	r := &run{cfg: cfg, rep: rep, base: time.Now().Add(time.Hour).Truncate(time.Second), sem: make(chan struct{}, cfg.Workers)}

	// Versions grow per entity in generation order; copies are sent at
	// random ticks and batches are shuffled, so events arrive out of order.
	versions := map[string]int64{}
	ids := make([]int, cfg.Sources)
	var queue []*message
	for i := range cfg.Events {
		entity := "entity-" + strconv.Itoa(rng.IntN(cfg.Entities))
		if versions[entity] == 0 || rng.Float64() >= cfg.EqualVersionRate {
			versions[entity]++
		}
		src := rng.IntN(cfg.Sources)
		ids[src]++
		ev := &Event{
			Source: "src-" + strconv.Itoa(src), ID: "ev-" + strconv.Itoa(ids[src]),
			Entity: entity, Version: versions[entity], Poison: rng.Float64() < cfg.PoisonRate,
		}
		rep.Events[ev.Key()] = ev
		for c := range 1 + rng.IntN(cfg.MaxCopies) {
			queue = append(queue, &message{id: fmt.Sprintf("m-%d-%d", i, c), event: ev, visibleAt: rng.IntN(cfg.SendTicks)})
		}
	}
	for entity := range versions {
		rep.entities = append(rep.entities, entity)
	}
	sortStrings(rep.entities)
	if cfg.OtherSeed != nil {
		for _, entity := range rep.entities {
			if rng.IntN(2) == 0 {
				if err := cfg.OtherSeed(ctx, entity, 1); err != nil {
					return rep, fmt.Errorf("other code writing %s: %w", entity, err)
				}
				rep.Other[entity] = 1
			}
		}
	}

	visTicks := int((cfg.Timeout + cfg.Tick + cfg.Tick - 1) / cfg.Tick)
	otherN := 1
	for tick := 0; ; tick++ {
		if tick > 2000 {
			return rep, fmt.Errorf("queue not drained after %d ticks", tick)
		}
		var visible []*message
		pending := 0
		for _, m := range queue {
			if m.acked || m.dead {
				continue
			}
			pending++
			if m.visibleAt > tick {
				continue
			}
			if m.received >= cfg.MaxReceive {
				m.dead = true
				rep.DeadLettered[m.event.Key()] = true
				continue
			}
			visible = append(visible, m)
		}
		r.mu.Lock()
		parked := len(r.parked)
		r.mu.Unlock()
		if pending == 0 && parked == 0 {
			rep.Ticks = tick
			break
		}
		rng.Shuffle(len(visible), func(i, j int) { visible[i], visible[j] = visible[j], visible[i] })
		var wg sync.WaitGroup
		for start := 0; start < len(visible); start += cfg.BatchSize {
			msgs := visible[start:min(start+cfg.BatchSize, len(visible))]
			for _, m := range msgs {
				m.received++
				m.visibleAt = tick + visTicks
			}
			b := r.newBatch(rng, tick, msgs)
			b.wg = &wg
			wg.Add(1)
			go r.invoke(ctx, b)
		}
		r.wake(tick, &wg)
		if cfg.Other != nil && len(rep.entities) > 0 {
			// Other code writes a few entities while the handler runs.
			for range 1 + len(rep.entities)/50 {
				entity := rep.entities[rng.IntN(len(rep.entities))]
				otherN++
				if err := r.other(ctx, entity, otherN); err != nil {
					wg.Wait()
					return rep, fmt.Errorf("other code writing %s: %w", entity, err)
				}
				r.mu.Lock()
				rep.Other[entity] = otherN
				r.mu.Unlock()
			}
		}
		wg.Wait()
		for _, b := range r.finished {
			for _, m := range b.msgs {
				if b.dels[m.id].Acked {
					m.acked = true
				}
			}
		}
		r.finished = nil
	}

	for _, entity := range rep.entities {
		st, err := cfg.Store.GetState(ctx, cfg.StateTable, entity)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return rep, fmt.Errorf("reading final state of %s: %w", entity, err)
		default:
			rep.Final[entity] = st
		}
	}
	return rep, nil
}

// run is one simulation's shared state.
type run struct {
	cfg  Config
	rep  *Report
	base time.Time
	sem  chan struct{}

	mu       sync.Mutex // guards rep, parked, finished, seq
	parked   []*parkedCall
	finished []*batch
	seq      int64
	serial   sync.Mutex
}

type parkedCall struct {
	until int
	wake  chan *sync.WaitGroup
}

// park suspends invocation b until tick until: it leaves its worker and its
// tick's count of running invocations, and joins those of the tick it
// resumes in.
func (r *run) park(b *batch, until int) {
	if until <= b.tick {
		return
	}
	p := &parkedCall{until: until, wake: make(chan *sync.WaitGroup)}
	r.mu.Lock()
	r.parked = append(r.parked, p)
	r.mu.Unlock()
	<-r.sem
	b.wg.Done()
	b.wg = <-p.wake
	b.tick = until
	r.sem <- struct{}{}
}

// wake resumes the invocations parked until tick or earlier; wg counts the
// tick's running invocations.
func (r *run) wake(tick int, wg *sync.WaitGroup) {
	r.mu.Lock()
	var keep, due []*parkedCall
	for _, p := range r.parked {
		if p.until <= tick {
			due = append(due, p)
		} else {
			keep = append(keep, p)
		}
	}
	r.parked = keep
	r.mu.Unlock()
	for _, p := range due {
		wg.Add(1)
		p.wake <- wg
	}
}

// other runs the other code's write, one store call at a time if cfg.Serial.
func (r *run) other(ctx context.Context, entity string, n int) error {
	if r.cfg.Serial {
		r.serial.Lock()
		defer r.serial.Unlock()
	}
	return r.cfg.Other(ctx, entity, n)
}

func (r *run) nextSeq() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	return r.seq
}
