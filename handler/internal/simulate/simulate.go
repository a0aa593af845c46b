// Package simulate is a delivery simulator for package handler: it plays an
// at-least-once, out-of-order queue (SQS standard semantics with a redrive
// policy) against handler.Processor on any store, with a controllable clock
// and workers that are stopped at injected points, and checks the outcome.
//
// The run proceeds in rounds. In a round every visible message is received
// (its receive count goes up), batched, and processed by concurrent workers
// whose clocks all read the round's time. A message that is not acknowledged
// stays in the queue, or moves to the dead-letter list once received
// MaxReceive times. Between rounds the clock advances past the handler
// timeout, as the queue's visibility timeout would, so the claims of stopped
// workers lapse.
//
// A stopped worker models a crashed or timed-out invocation: nothing of its
// batch is acknowledged (Lambda returns the whole batch to the queue) and no
// store call happens after the stop.
package simulate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

// Point is where a worker is stopped.
type Point int

const (
	// NoStop: the worker runs on.
	NoStop Point = iota
	// BeforeClaim: killed just before the claim (transactional: the commit).
	BeforeClaim
	// AtDeadline: the handler runs past the invocation's deadline; the
	// worker is killed at its next store call.
	AtDeadline
	// BetweenEffectAndCompletion: killed after the state write and before
	// the completion write (claim/complete only).
	BetweenEffectAndCompletion
	// AfterCompletion: killed after the completion write (transactional:
	// the commit), before the batch response is returned.
	AfterCompletion
)

var pointNames = [...]string{"none", "before-claim", "at-deadline", "between-effect-and-completion", "after-completion"}

func (p Point) String() string { return pointNames[p] }

// Config is one simulation.
type Config struct {
	Mode       handler.Mode
	Store      store.Store
	StateTable string
	// Events over Entities, processed by Workers concurrent workers.
	Events, Entities, Workers int
	// MaxCopies: each event is sent as 1..MaxCopies messages (default 5).
	MaxCopies int
	// BatchSize is the number of messages per invocation (default 5).
	BatchSize int
	// MaxReceive is the redrive policy's maxReceiveCount (default 12).
	MaxReceive int
	// StopRate is the chance that a delivery has an injected stop (default 0.02).
	StopRate float64
	// PoisonRate is the share of events the handler always rejects (default 0.01).
	PoisonRate float64
	// Timeout is the handler timeout (default 30s); TTL the dedup TTL (default 24h).
	Timeout, TTL time.Duration
	Seed         uint64
}

// Event is one generated event.
type Event struct {
	ID      string
	Entity  string
	Version int64
	Poison  bool
}

// Delivery is one receive of one message, with what became of it.
type Delivery struct {
	Round     int
	MessageID string
	EventID   string
	// Stop is the stop that fired during this delivery, if any.
	Stop Point
	// Outcome is the processor's outcome, zero when the worker was stopped
	// before it returned.
	Outcome handler.Outcome
}

func (d Delivery) id() string { return d.MessageID + "@" + strconv.Itoa(d.Round) }

// Report is what a run observed.
type Report struct {
	Config     Config
	Events     map[string]Event
	Deliveries []Delivery
	// Applied lists, per event, the deliveries whose state write (or
	// commit) the store accepted, in order.
	Applied map[string][]string
	// StaleVerdicts holds the events whose state write the store refused as
	// stale at least once.
	StaleVerdicts map[string]bool
	// DeadLettered holds the events with a message in the dead-letter list.
	DeadLettered map[string]bool
	// Violations found while running (e.g. a write after the deadline).
	Violations []string
	Rounds     int
	// Final is each entity's stored state after the run.
	Final map[string]*store.State
}

type message struct {
	id       string
	event    Event
	received int
}

// Run runs a simulation to completion: until the queue is empty.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.MaxCopies == 0 {
		cfg.MaxCopies = 5
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 5
	}
	if cfg.MaxReceive == 0 {
		cfg.MaxReceive = 12
	}
	if cfg.StopRate == 0 {
		cfg.StopRate = 0.02
	}
	if cfg.PoisonRate == 0 {
		cfg.PoisonRate = 0.01
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.TTL == 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x3f))
	rep := &Report{
		Config: cfg, Events: map[string]Event{}, Applied: map[string][]string{},
		DeadLettered: map[string]bool{}, StaleVerdicts: map[string]bool{}, Final: map[string]*store.State{},
	}

	// Versions grow per entity in generation order; delivery order is
	// shuffled below, so events arrive out of order.
	versions := map[string]int64{}
	var queue []*message
	for i := range cfg.Events {
		entity := "entity-" + strconv.Itoa(rng.IntN(cfg.Entities))
		versions[entity]++
		ev := Event{ID: "ev-" + strconv.Itoa(i), Entity: entity, Version: versions[entity], Poison: rng.Float64() < cfg.PoisonRate}
		rep.Events[ev.ID] = ev
		for c := range 1 + rng.IntN(cfg.MaxCopies) {
			queue = append(queue, &message{id: fmt.Sprintf("m-%d-%d", i, c), event: ev})
		}
	}

	sim := &run{cfg: cfg, rep: rep}
	now := time.Now().Truncate(time.Second)
	for round := 0; len(queue) > 0; round++ {
		if round > 200 {
			return rep, fmt.Errorf("queue not drained after %d rounds: %d messages left", round, len(queue))
		}
		rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
		var batches []*batch
		for start := 0; start < len(queue); start += cfg.BatchSize {
			b := &batch{round: round, now: now, stops: map[string]Point{}}
			for _, m := range queue[start:min(start+cfg.BatchSize, len(queue))] {
				m.received++
				b.msgs = append(b.msgs, m)
				if rng.Float64() < cfg.StopRate {
					b.stops[m.id] = sim.pickStop(rng)
				}
			}
			batches = append(batches, b)
		}
		work := make(chan *batch)
		var wg sync.WaitGroup
		for range cfg.Workers {
			wg.Go(func() {
				for b := range work {
					sim.invoke(ctx, b)
				}
			})
		}
		for _, b := range batches {
			work <- b
		}
		close(work)
		wg.Wait()

		var next []*message
		for _, b := range batches {
			for _, m := range b.msgs {
				switch {
				case b.acked[m.id]:
				case m.received >= cfg.MaxReceive:
					rep.DeadLettered[m.event.ID] = true
				default:
					next = append(next, m)
				}
			}
		}
		queue = next
		rep.Rounds = round + 1
		// The visibility timeout (at least the function timeout) passes.
		now = now.Add(cfg.Timeout + time.Second)
	}

	for entity := range versions {
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

func (r *run) pickStop(rng *rand.Rand) Point {
	if r.cfg.Mode == handler.Transactional {
		return []Point{BeforeClaim, AtDeadline, AfterCompletion}[rng.IntN(3)]
	}
	return []Point{BeforeClaim, AtDeadline, BetweenEffectAndCompletion, AfterCompletion}[rng.IntN(4)]
}

type run struct {
	cfg Config
	mu  sync.Mutex
	rep *Report
}

// batch is one invocation: a worker with its own clock.
type batch struct {
	round int
	now   time.Time
	msgs  []*message
	stops map[string]Point
	acked map[string]bool

	mu      sync.Mutex
	clock   time.Time
	killed  bool
	fired   map[string]Point
	overdue map[string]bool // the handler ran past the deadline
}

type stopSignal struct{}

func (b *batch) Now() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clock
}

func (r *run) invoke(ctx context.Context, b *batch) {
	b.clock, b.fired, b.overdue, b.acked = b.now, map[string]Point{}, map[string]bool{}, map[string]bool{}
	p := handler.New(&stopper{Store: r.cfg.Store, run: r, b: b}, handler.Options{
		Mode: r.cfg.Mode, Handler: "sim", TTL: r.cfg.TTL, Timeout: r.cfg.Timeout,
		StateTable: r.cfg.StateTable, Now: b.Now,
	})
	evs := make([]handler.Event, len(b.msgs))
	for i, m := range b.msgs {
		evs[i] = handler.Event{
			Source: "simulate", ID: m.event.ID, CloudEvent: true,
			Sequence:  strconv.FormatInt(m.event.Version, 10),
			Data:      fmt.Appendf(nil, `{"entity":%q,"version":%d}`, m.event.Entity, m.event.Version),
			MessageID: m.id, ReceiveCount: m.received,
		}
	}
	results := r.process(ctx, p, b, evs)

	r.mu.Lock()
	defer r.mu.Unlock()
	for i, m := range b.msgs {
		d := Delivery{Round: b.round, MessageID: m.id, EventID: m.event.ID, Stop: b.fired[m.id]}
		if results != nil {
			res := results[i]
			d.Outcome = res.Outcome
			if res.Outcome == handler.Duplicate && string(res.Output) != m.event.ID {
				r.rep.Violations = append(r.rep.Violations, fmt.Sprintf("%s: duplicate returned result %q; want the stored %q", d.id(), res.Output, m.event.ID))
			}
			if !b.killed && res.Outcome.Acknowledged() {
				b.acked[m.id] = true
			}
		}
		r.rep.Deliveries = append(r.rep.Deliveries, d)
	}
}

// process runs the batch; a stop panics out of it, as a crash would end the
// invocation, and nil results mean the worker was stopped.
func (r *run) process(ctx context.Context, p *handler.Processor, b *batch, evs []handler.Event) (results []handler.Result) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(stopSignal); !ok {
				panic(v)
			}
			results = nil
		}
	}()
	results = p.ProcessBatch(ctx, evs, func(ctx context.Context, ev handler.Event) (handler.Effect, error) {
		e := r.rep.Events[ev.ID]
		if e.Poison {
			return handler.Effect{}, errors.New("poison event")
		}
		if b.stops[ev.MessageID] == AtDeadline {
			// The handler runs too long: the invocation's deadline passes.
			b.mu.Lock()
			b.clock = b.clock.Add(r.cfg.Timeout + time.Second)
			b.overdue[ev.MessageID] = true
			b.mu.Unlock()
		}
		return handler.Effect{
			State:  &handler.StateWrite{Key: e.Entity, Attributes: map[string]any{"event": e.ID}},
			Result: []byte(e.ID),
		}, nil
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.overdue) > 0 {
		// The runtime kills an invocation at its deadline, even when
		// nothing was called after it.
		b.killed = true
		for id := range b.overdue {
			b.fired[id] = AtDeadline
		}
		return nil
	}
	return results
}

// stopper wraps the store under test: it stops the worker at the planned
// points and records every accepted state write.
type stopper struct {
	store.Store
	run *run
	b   *batch
}

// delivery identifies the calling delivery and kills the worker if it is
// past its deadline. effect marks calls that write the event's effect.
func (s *stopper) delivery(ctx context.Context, effect bool) (handler.Event, Point) {
	ev, _ := handler.EventFromContext(ctx)
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.killed {
		panic(stopSignal{})
	}
	if s.b.overdue[ev.MessageID] {
		if effect {
			s.run.mu.Lock()
			s.run.rep.Violations = append(s.run.rep.Violations, fmt.Sprintf("%s@%d: the effect was written after the claim's deadline", ev.MessageID, s.b.round))
			s.run.mu.Unlock()
		}
		s.b.killed = true
		s.b.fired[ev.MessageID] = AtDeadline
		panic(stopSignal{})
	}
	if len(s.b.overdue) > 0 {
		s.b.killed = true
		panic(stopSignal{})
	}
	return ev, s.b.stops[ev.MessageID]
}

func (s *stopper) stop(ev handler.Event, p Point) {
	s.b.mu.Lock()
	s.b.killed = true
	s.b.fired[ev.MessageID] = p
	s.b.mu.Unlock()
	panic(stopSignal{})
}

func (s *stopper) stale(ev handler.Event) {
	s.run.mu.Lock()
	defer s.run.mu.Unlock()
	s.run.rep.StaleVerdicts[ev.ID] = true
}

func (s *stopper) applied(ev handler.Event) {
	s.run.mu.Lock()
	defer s.run.mu.Unlock()
	s.run.rep.Applied[ev.ID] = append(s.run.rep.Applied[ev.ID], ev.MessageID+"@"+strconv.Itoa(s.b.round))
}

func (s *stopper) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	ev, p := s.delivery(ctx, false)
	if p == BeforeClaim {
		s.stop(ev, p)
	}
	return s.Store.Claim(ctx, rec, now)
}

func (s *stopper) PutState(ctx context.Context, w store.StateWrite) error {
	ev, _ := s.delivery(ctx, true)
	err := s.Store.PutState(ctx, w)
	if err == nil {
		s.applied(ev)
	} else if errors.Is(err, store.ErrStale) {
		s.stale(ev)
	}
	return err
}

func (s *stopper) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	ev, p := s.delivery(ctx, false)
	if p == BetweenEffectAndCompletion {
		s.stop(ev, p)
	}
	err := s.Store.Complete(ctx, key, token, result, expiresAt)
	if p == AfterCompletion {
		s.stop(ev, p)
	}
	return err
}

func (s *stopper) Release(ctx context.Context, key, token string) error {
	s.delivery(ctx, false)
	return s.Store.Release(ctx, key, token)
}

func (s *stopper) Commit(ctx context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	ev, p := s.delivery(ctx, true)
	if p == BeforeClaim {
		s.stop(ev, p)
	}
	held, err := s.Store.Commit(ctx, rec, now, w)
	if err == nil && w != nil {
		s.applied(ev)
	} else if errors.Is(err, store.ErrStale) {
		s.stale(ev)
	}
	if p == AfterCompletion {
		s.stop(ev, p)
	}
	return held, err
}

// Check returns every violation of the simulator's assertions:
//   - every event not dead-lettered is applied once or acknowledged as stale;
//   - each entity's final state is its highest-version event not dead-lettered;
//   - the dead-lettered events are exactly the poison events;
//   - transactional: no event is applied twice;
//   - claim/complete: every extra application maps to a logged stop between
//     effect and completion of the applying delivery, and no other exists.
func (rep *Report) Check() []string {
	v := append([]string(nil), rep.Violations...)
	stoppedAfterEffect := map[string]bool{}
	// An event not dead-lettered was acknowledged in the end; it was
	// acknowledged as stale if the store refused its state write as stale
	// (in claim/complete a later delivery may report it as a duplicate of
	// that verdict).
	staleAck := rep.StaleVerdicts
	for _, d := range rep.Deliveries {
		if d.Stop == BetweenEffectAndCompletion {
			stoppedAfterEffect[d.id()] = true
		}
		if d.Outcome == handler.Stale && !staleAck[d.EventID] {
			v = append(v, fmt.Sprintf("%s: outcome stale without a stale verdict from the store", d.id()))
		}
	}
	want := map[string]Event{} // entity -> highest-version event not dead-lettered
	ids := make([]string, 0, len(rep.Events))
	for id := range rep.Events {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ev := rep.Events[id]
		if ev.Poison != rep.DeadLettered[id] {
			v = append(v, fmt.Sprintf("%s: poison=%v but dead-lettered=%v", id, ev.Poison, rep.DeadLettered[id]))
		}
		applied := rep.Applied[id]
		if rep.DeadLettered[id] {
			if len(applied) > 0 {
				v = append(v, fmt.Sprintf("%s: dead-lettered but applied by %v", id, applied))
			}
			continue
		}
		if ev.Version > want[ev.Entity].Version {
			want[ev.Entity] = ev
		}
		if len(applied) == 0 && !staleAck[id] {
			v = append(v, fmt.Sprintf("%s: neither applied nor acknowledged as stale", id))
		}
		switch rep.Config.Mode {
		case handler.Transactional:
			if len(applied) > 1 {
				v = append(v, fmt.Sprintf("%s: applied %d times in transactional mode: %v", id, len(applied), applied))
			}
		default:
			var unexplained []string
			for _, d := range applied {
				if !stoppedAfterEffect[d] {
					unexplained = append(unexplained, d)
				}
			}
			// All applications but one must be explained by a stop of the
			// applying delivery between its effect and its completion.
			if len(unexplained) > 1 {
				v = append(v, fmt.Sprintf("%s: applied %d times, %d without a stop between effect and completion: %v", id, len(applied), len(unexplained), unexplained))
			}
		}
	}
	for _, id := range ids {
		ev := rep.Events[id]
		if staleAck[id] && len(rep.Applied[id]) == 0 && ev.Version >= want[ev.Entity].Version && !ev.Poison {
			v = append(v, fmt.Sprintf("%s: acknowledged as stale but is the newest version %d of %s", id, ev.Version, ev.Entity))
		}
	}
	entities := map[string]bool{}
	for _, ev := range rep.Events {
		entities[ev.Entity] = true
	}
	for entity := range entities {
		got, w := rep.Final[entity], want[entity]
		switch {
		case w.ID == "" && got != nil:
			v = append(v, fmt.Sprintf("%s: final state %+v; want none (all its events dead-lettered)", entity, got))
		case w.ID == "":
		case got == nil:
			v = append(v, fmt.Sprintf("%s: no final state; want %s (version %d)", entity, w.ID, w.Version))
		case got.Version != w.Version || got.Attributes["event"] != w.ID:
			v = append(v, fmt.Sprintf("%s: final state version %d from %v; want version %d from %s", entity, got.Version, got.Attributes["event"], w.Version, w.ID))
		}
	}
	sort.Strings(v)
	return v
}

// Stats counts deliveries by stop point and outcome, for test logs and to
// show that a run exercised what it claims to.
type Stats struct {
	Deliveries, Extra int
	Stops             map[Point]int
	Outcomes          map[handler.Outcome]int
}

// Stats summarises the report.
func (rep *Report) Stats() Stats {
	s := Stats{Deliveries: len(rep.Deliveries), Stops: map[Point]int{}, Outcomes: map[handler.Outcome]int{}}
	for _, d := range rep.Deliveries {
		if d.Stop != NoStop {
			s.Stops[d.Stop]++
		}
		if d.Outcome != 0 {
			s.Outcomes[d.Outcome]++
		}
	}
	for _, a := range rep.Applied {
		if len(a) > 1 {
			s.Extra += len(a) - 1
		}
	}
	return s
}

func (s Stats) String() string {
	return fmt.Sprintf("%d deliveries, %d extra applications, stops %v, outcomes %v", s.Deliveries, s.Extra, s.Stops, s.Outcomes)
}
