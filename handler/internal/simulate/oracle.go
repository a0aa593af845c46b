package simulate

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

// Report is what a run observed.
type Report struct {
	Config Config
	// Events by Event.Key.
	Events     map[string]*Event
	Deliveries []*Delivery
	// DeadLettered holds the events with a message in the dead-letter list.
	DeadLettered map[string]bool
	// Violations found while running (e.g. a panic that escaped).
	Violations []string
	Ticks      int
	// Final is each entity's stored state after the run.
	Final map[string]*store.State
	// Other is the value of attribute "other" that other code wrote last,
	// per entity.
	Other map[string]int

	entities []string
	ops      []*op
}

func newReport(cfg Config) *Report {
	return &Report{
		Config: cfg, Events: map[string]*Event{}, DeadLettered: map[string]bool{},
		Final: map[string]*store.State{}, Other: map[string]int{},
	}
}

func sortStrings(s []string) { sort.Strings(s) }

// application is an accepted state write (claim/complete), commit
// (transactional) or single write of one delivery.
type application struct {
	d  *Delivery
	op *op
}

// analysis indexes the report's calls per event.
type analysis struct {
	rep      *Report
	ops      map[string][]*op // by event key, in start order
	applied  map[string][]application
	stale    map[string]bool // events the store refused as stale at least once
	conflict map[string]bool // events the store refused as a conflict at least once
	extra    map[string]int  // extra applications by window
}

func (rep *Report) analyse() *analysis {
	a := &analysis{
		rep: rep, ops: map[string][]*op{}, applied: map[string][]application{},
		stale: map[string]bool{}, conflict: map[string]bool{}, extra: map[string]int{},
	}
	ops := append([]*op(nil), rep.ops...)
	sort.Slice(ops, func(i, j int) bool { return ops[i].start < ops[j].start })
	_, stateWrite, _ := writes(rep.Config.Mode)
	for _, o := range ops {
		ev := o.d.Event
		a.ops[ev] = append(a.ops[ev], o)
		if o.kind != stateWrite {
			continue
		}
		if errors.Is(o.err, store.ErrStale) {
			a.stale[ev] = true
		}
		if errors.Is(o.err, store.ErrConflict) {
			a.conflict[ev] = true
		}
		if o.accepted() && o.w != nil {
			// A delivery that wrote twice (a retried call) applied once.
			if n := len(a.applied[ev]); n == 0 || a.applied[ev][n-1].d != o.d {
				a.applied[ev] = append(a.applied[ev], application{o.d, o})
			}
		}
	}
	return a
}

// Check returns every violation of the oracle's properties (see the package
// documentation), sorted.
func (rep *Report) Check() []string {
	v := append([]string(nil), rep.Violations...)
	a := rep.analyse()
	cfg := rep.Config
	add := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }

	for _, d := range rep.Deliveries {
		id := d.id() + " (" + d.Event + ")"
		ev := rep.Events[d.Event]
		mine := func(kind opKind) []*op {
			var out []*op
			for _, o := range a.ops[d.Event] {
				if o.d == d && o.kind == kind {
					out = append(out, o)
				}
			}
			return out
		}
		applied := false
		for _, ap := range a.applied[d.Event] {
			applied = applied || ap.d == d
		}
		for _, f := range d.Faults {
			if f == Panicked && d.Outcome != 0 && (d.Outcome != handler.Failed || !isPanic(d.Err)) {
				add("%s: the effect panicked; outcome %s (%v), want failed with a PanicError", id, d.Outcome, d.Err)
			}
		}
		if cfg.Mode == handler.ClaimComplete {
			// The safety margin: no state write is sent within it.
			for _, o := range mine(opPutState) {
				if d.claim == nil {
					add("%s: state write sent without an accepted claim", id)
				} else if dl, m := d.claim.rec.ClaimExpiresAt, min(cfg.Margin, d.claim.rec.ClaimExpiresAt.Sub(d.claim.now)/4); !o.now.Before(dl.Add(-m)) {
					add("%s: state write sent at %s, within the margin %s of its claim's deadline %s", id, o.now.Format(time.RFC3339Nano), m, dl.Format(time.RFC3339Nano))
				}
			}
		}
		switch d.Outcome {
		case handler.Applied:
			if !applied {
				add("%s: outcome applied, but the store accepted no state write of this delivery", id)
			}
			ok := func(kind opKind, allowed ...error) {
				err, called := d.returned[kind]
				if !called || err == nil {
					return
				}
				for _, e := range allowed {
					if errors.Is(err, e) {
						return
					}
				}
				add("%s: outcome applied, but its %s returned %v", id, kind, err)
			}
			switch cfg.Mode {
			case handler.ClaimComplete:
				if d.claim == nil {
					add("%s: outcome applied without an accepted claim", id)
				}
				ok(opClaim, store.ErrHeld) // a retried claim finds its own record
				ok(opPutState)
				ok(opComplete, store.ErrClaimLost)
			case handler.Transactional:
				ok(opCommit, store.ErrHeld) // a retried commit finds its own record
			default:
				ok(opPutOnce)
			}
		case handler.Stale:
			if !anyErr(mine(a.stateKind()), store.ErrStale) {
				add("%s: outcome stale, but the store refused no write of this delivery as stale", id)
			}
		case handler.Conflict:
			if !anyErr(mine(a.stateKind()), store.ErrConflict) {
				add("%s: outcome conflict, but the store refused no write of this delivery as a conflict", id)
			}
			other := false
			for k, e := range rep.Events {
				if k != d.Event && e.Entity == ev.Entity && e.Version == ev.Version && len(a.applied[k]) > 0 {
					other = true
				}
			}
			if !other {
				add("%s: outcome conflict, but no other event with version %d of %s was applied", id, ev.Version, ev.Entity)
			}
		case handler.Duplicate:
			if len(a.applied[d.Event]) == 0 && !a.stale[d.Event] {
				add("%s: outcome duplicate of an event never applied nor found stale", id)
			}
			if cfg.Mode != handler.SingleWrite && string(d.Output) != d.Event {
				add("%s: duplicate returned result %q; want the stored %q", id, d.Output, d.Event)
			}
		case handler.Failed:
			if !errors.Is(d.Err, errPoison) && !isPanic(d.Err) && !errors.Is(d.Err, ErrThrottled) && !errors.Is(d.Err, ErrLostResponse) {
				add("%s: failed without an injected cause: %v", id, d.Err)
			}
		case handler.PayloadMismatch:
			add("%s: payload mismatch; every copy of an event carries its payload (%v)", id, d.Err)
		}
	}

	// Events.
	keys := make([]string, 0, len(rep.Events))
	for k := range rep.Events {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type ev struct {
		entity  string
		version int64
	}
	writers := map[ev]map[string]bool{} // events applied per entity version
	for _, k := range keys {
		e := rep.Events[k]
		apps := a.applied[k]
		// A good event may be dead-lettered too, when its batches keep
		// crashing: each of its failures is checked to have a cause above.
		if e.Poison && !rep.DeadLettered[k] {
			add("%s: poison event not dead-lettered", k)
		}
		if e.Poison {
			if len(apps) > 0 {
				add("%s: poison event applied by %s", k, apps[0].d.id())
			}
			continue
		}
		if len(apps) == 0 && !a.stale[k] && !rep.DeadLettered[k] {
			add("%s: neither applied, refused as stale, nor dead-lettered", k)
		}
		for range apps {
			key := ev{e.Entity, e.Version}
			if writers[key] == nil {
				writers[key] = map[string]bool{}
			}
			writers[key][k] = true
		}
		a.checkRepeats(k, add)
	}
	for key, evs := range writers {
		if len(evs) > 1 {
			add("%s version %d: written by %d different events %v; the first must win", key.entity, key.version, len(evs), sortedKeys(evs))
		}
	}

	// Final state.
	want := map[string]int64{}
	for _, k := range keys {
		e := rep.Events[k]
		if (!rep.DeadLettered[k] || len(a.applied[k]) > 0) && (want[e.Entity] == 0 || compare(cfg.Ordering, e.Version, want[e.Entity]) > 0) {
			want[e.Entity] = e.Version
		}
	}
	for _, entity := range rep.entities {
		got := rep.Final[entity]
		var gotV int64
		var gotEv any
		if got != nil {
			gotV, gotEv = got.Version, got.Attributes["event"]
			if got.Sequence != "" {
				gotV, _ = strconv.ParseInt(got.Sequence, 10, 64)
			}
			if gotEv != nil && got.Event != "ce/"+fmt.Sprint(gotEv) {
				add("%s: final state records event %q, its attributes %v", entity, got.Event, gotEv)
			}
		}
		if gotV != want[entity] {
			add("%s: final version %d (from %v); want %d", entity, gotV, gotEv, want[entity])
		} else if w := want[entity]; w > 0 {
			s, _ := gotEv.(string)
			if !writers[ev{entity, w}][s] {
				add("%s: final state from %v, which was not applied at version %d", entity, gotEv, w)
			}
		}
		if n, ok := rep.Other[entity]; ok {
			var other any
			if got != nil {
				other = got.Attributes["other"]
			}
			if fmt.Sprint(other) != fmt.Sprint(n) {
				add("%s: attribute other = %v; other code wrote %d last", entity, other, n)
			}
		}
	}
	sort.Strings(v)
	return v
}

func (a *analysis) stateKind() opKind {
	_, state, _ := writes(a.rep.Config.Mode)
	return state
}

// checkRepeats checks that every application of event k after its first is
// inside the mode's documented windows.
func (a *analysis) checkRepeats(k string, add func(string, ...any)) {
	apps := a.applied[k]
	mode := a.rep.Config.Mode
	if mode == handler.SingleWrite {
		if len(apps) > 1 {
			add("%s: applied %d times in single-write mode, by %s and %s", k, len(apps), apps[0].d.id(), apps[1].d.id())
		}
		return
	}
	if mode == handler.Transactional {
		// Ordered by the commits' returns: each later commit must come
		// after the expiry of every earlier one's record.
		sort.Slice(apps, func(i, j int) bool { return apps[i].op.end < apps[j].op.end })
		for i := 1; i < len(apps); i++ {
			for _, prev := range apps[:i] {
				if apps[i].op.now.Before(prev.op.rec.ExpiresAt) {
					add("%s: committed again by %s at %s, before the record %s committed expired (%s)", k, apps[i].d.id(), apps[i].op.now.Format(time.RFC3339Nano), prev.d.id(), prev.op.rec.ExpiresAt.Format(time.RFC3339Nano))
				}
			}
			a.extra["ttl"]++
		}
		return
	}
	// Claim/complete, ordered by the appliers' claims.
	for _, ap := range apps {
		if ap.d.claim == nil {
			return // reported per delivery
		}
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].d.claim.start < apps[j].d.claim.start })
	for i := 1; i < len(apps); i++ {
		later := apps[i].d.claim
		for _, prev := range apps[:i] {
			pc := prev.d.claim
			var completed, released *op
			for _, o := range a.ops[k] {
				if o.d != prev.d || !o.accepted() || o.start > later.start {
					continue
				}
				switch o.kind {
				case opComplete:
					completed = o
				case opRelease:
					released = o
				}
			}
			switch {
			case completed != nil && !later.now.Before(completed.exp):
				a.extra["ttl"]++
			case completed == nil && (!later.now.Before(pc.rec.ClaimExpiresAt) || released != nil):
				a.extra["lapse"]++
			case completed != nil:
				add("%s: applied again by %s, which claimed at %s, before the record that %s completed expired (%s)", k, apps[i].d.id(), later.now.Format(time.RFC3339Nano), prev.d.id(), completed.exp.Format(time.RFC3339Nano))
			default:
				add("%s: applied again by %s, which claimed at %s while %s held the claim until %s", k, apps[i].d.id(), later.now.Format(time.RFC3339Nano), prev.d.id(), pc.rec.ClaimExpiresAt.Format(time.RFC3339Nano))
			}
		}
	}
}

// id names the delivery: its message and the tick it was received in.
func (d *Delivery) id() string { return d.MessageID + "@" + strconv.Itoa(d.Tick) }

func anyErr(ops []*op, target error) bool {
	for _, o := range ops {
		if errors.Is(o.err, target) {
			return true
		}
	}
	return false
}

func isPanic(err error) bool {
	var pe *handler.PanicError
	return errors.As(err, &pe)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Stats counts what a run exercised, for test logs and to show that a run
// exercised what it claims to.
type Stats struct {
	Deliveries int
	// Extra counts applications after an event's first, by window: "lapse"
	// (claim/complete) and "ttl".
	Extra    map[string]int
	Faults   map[Fault]int
	Outcomes map[handler.Outcome]int
	Calls    int
}

// Stats summarises the report.
func (rep *Report) Stats() Stats {
	s := Stats{Deliveries: len(rep.Deliveries), Faults: map[Fault]int{}, Outcomes: map[handler.Outcome]int{}, Calls: len(rep.ops)}
	for _, d := range rep.Deliveries {
		for _, f := range d.Faults {
			s.Faults[f]++
		}
		if d.Outcome != 0 {
			s.Outcomes[d.Outcome]++
		}
	}
	a := rep.analyse()
	for k := range rep.Events {
		a.checkRepeats(k, func(string, ...any) {})
	}
	s.Extra = a.extra
	return s
}

func (s Stats) String() string {
	return fmt.Sprintf("%d deliveries, %d store calls, extra applications %v, faults %v, outcomes %v", s.Deliveries, s.Calls, s.Extra, s.Faults, s.Outcomes)
}

// Trace lists the deliveries of event (an Event.Key, with or without a
// trailing colon) and the store calls they made, for a failing test's log.
func (rep *Report) Trace(event string) string {
	event = strings.TrimSuffix(event, ":")
	var b strings.Builder
	for _, d := range rep.Deliveries {
		if d.Event == event {
			fmt.Fprintf(&b, "delivery %s@%d faults %v outcome %s err %v\n", d.MessageID, d.Tick, d.Faults, d.Outcome, d.Err)
		}
	}
	for _, o := range rep.ops {
		if o.d.Event == event {
			fmt.Fprintf(&b, "call %s by %s@%d [%d,%d] now %s: %v\n", o.kind, o.d.MessageID, o.d.Tick, o.start, o.end, o.now.Format(time.RFC3339Nano), o.err)
		}
	}
	return b.String()
}
