package handler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

// StateWrite is a version-guarded, last-writer-wins write of one entity's
// state: see store.StateWrite.
type StateWrite = store.StateWrite

// Mode selects how an event's effect and its dedup record are written.
type Mode int

const (
	// ClaimComplete claims the key with one conditional write, runs the
	// handler, applies its state write, then marks the key completed with
	// a second write. Guarantee: an effect runs once per event, except in
	// the windows the package doc lists: a crash (or a completion that
	// keeps failing) after the effect and before the completion write, a
	// delivery still running at its deadline (the state write stops
	// Options.Margin before it), and a redelivery after the TTL. The
	// handler may have any side effects.
	ClaimComplete Mode = iota
	// Transactional writes the dedup record and the handler's state write
	// in one transaction (DynamoDB TransactWriteItems, a Firestore
	// transaction): one write and no
	// window; within the TTL a state write takes effect exactly once per
	// event. The handler
	// runs before the key is checked and may run more than once for the
	// same event, so its only effect must be the state write it returns.
	Transactional
	// SingleWrite keeps no dedup record: the handler's state write is one
	// conditional write (stored version older than the event's), and a
	// refused write is classified from the entity it returns: the same
	// version from the same event is a Duplicate, an older event Stale, the
	// same version from another event a Conflict. One write per delivery,
	// first or duplicate. It holds only when the effect is that one write
	// of the entity's whole state and versions grow per entity across all
	// producers: see the package doc for where it does not.
	SingleWrite
)

func (m Mode) String() string {
	switch m {
	case ClaimComplete:
		return "claim-complete"
	case Transactional:
		return "transactional"
	case SingleWrite:
		return "single-write"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Ordering says how an event's version compares with the stored one when a
// StateWrite leaves the version to the event.
type Ordering int

const (
	// Numeric versions are positive integers from Options.Version
	// (Event.SequenceVersion, the sequence parsed as base 10, when nil).
	Numeric Ordering = iota
	// Lexicographic versions are the event's CloudEvents sequence
	// attribute, compared as strings byte by byte, as the CloudEvents
	// sequence extension specifies (pad numbers to one width: "10" < "9").
	// They are stored as strings: an entity already versioned by numbers
	// refuses them with an error, and the reverse.
	Lexicographic
)

// Effect is what a handler asks the processor to write for an event.
type Effect struct {
	// State, when not nil, is written with the out-of-order guard: if the
	// entity already has a newer version the event is acknowledged as
	// Stale and dropped; the same version from another event is a
	// Conflict (the first event's state stays). An empty Table means
	// Options.StateTable; a zero Version and empty Sequence mean the
	// event's, as Options.Ordering says; Event is always the event's
	// identity (source and id).
	State *StateWrite
	// Result is stored with the dedup record and returned to duplicates
	// (not in SingleWrite mode, which keeps no record).
	Result []byte
}

// Func handles one event.
type Func func(ctx context.Context, ev Event) (Effect, error)

// Options configure a Processor. Zero values take the defaults noted.
type Options struct {
	Mode Mode
	// Handler prefixes every dedup key, so handlers may share a table.
	Handler string
	// TTL is how long a dedup record counts: DefaultTTL when zero.
	TTL time.Duration
	// Timeout bounds a claim when the context has no earlier deadline:
	// DefaultTimeout when zero.
	Timeout time.Duration
	// StateTable is the default table of state writes. FromEnv resolves the name of a table granted
	// through function.tables (THREEFACTOR_TABLE_<NAME> set) to where it is; any other name is the
	// store's own (a DynamoDB table, a collection of the dedup database, a name in the dedup container).
	StateTable string
	// Ordering chooses numeric (the default) or lexicographic versions.
	Ordering Ordering
	// Version gives an event's numeric entity version when a StateWrite
	// has none: Event.SequenceVersion when nil. Versions are positive.
	Version func(Event) (int64, error)
	// Margin is how long before its claim's deadline a ClaimComplete
	// delivery stops: the handler's context ends Margin before the
	// deadline and no state is written after that, so that the write
	// lands before another delivery may claim the lapsed key. It allows
	// worker clocks to differ by up to Margin minus the state write's
	// duration. DefaultMargin when zero; never more than a quarter of
	// the claim's span.
	Margin time.Duration
	// SkipPayloadCheck turns off the check that a key's deliveries carry
	// the same payload.
	SkipPayloadCheck bool
	// Now is the clock: time.Now when nil. Tests and the simulator pass a
	// controllable one.
	Now func() time.Time
	// OutcomeLog, when not nil, receives one OutcomeLine per delivery
	// (Process and ProcessBatch). FromEnv sets it to standard error when
	// THREEFACTOR_OUTCOME_LOG=stderr.
	OutcomeLog io.Writer
}

// Processor makes a handler idempotent and order-tolerant. It is safe for
// concurrent use.
type Processor struct {
	store    store.Store
	opts     Options
	outcomes *outcomeLog
}

// New returns a Processor over s.
func New(s store.Store, opts Options) *Processor {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Version == nil {
		opts.Version = Event.SequenceVersion
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Margin <= 0 {
		opts.Margin = DefaultMargin
	}
	return &Processor{store: s, opts: opts, outcomes: &outcomeLog{w: opts.OutcomeLog}}
}

// FromEnv opens the store named by THREEFACTOR_DEDUP_STORE (its driver must
// be imported) and returns a Processor configured from the environment;
// non-zero fields of opts take precedence.
func FromEnv(ctx context.Context, opts Options) (*Processor, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, cfg.DedupStore)
	if err != nil {
		return nil, err
	}
	if opts.Handler == "" {
		opts.Handler = cfg.Handler
	}
	if opts.TTL == 0 {
		opts.TTL = cfg.TTL
	}
	if opts.Timeout == 0 {
		opts.Timeout = cfg.Timeout
	}
	// A state table granted by the provider is named by its grant; its store URL says where it is.
	if t := opts.StateTable; t != "" && os.Getenv(EnvTablePrefix+strings.ToUpper(t)) != "" {
		if opts.StateTable, err = ResolveTable(s, t); err != nil {
			return nil, err
		}
	}
	if opts.OutcomeLog == nil && cfg.OutcomeLog {
		opts.OutcomeLog = os.Stderr
	}
	return New(s, opts), nil
}

// Store returns the processor's store.
func (p *Processor) Store() store.Store { return p.store }

// Outcome is what happened to one delivery.
type Outcome int

const (
	// Applied: the effect ran and the key is recorded. Acknowledged.
	Applied Outcome = iota + 1
	// Duplicate: the key was already completed; Result.Output holds the
	// stored result. Acknowledged.
	Duplicate
	// Stale: the entity has a newer version; dropped. Acknowledged.
	Stale
	// InFlight: another delivery holds a live claim on the key; retried
	// later, after which it is a Duplicate or the claim has lapsed.
	InFlight
	// Failed: the handler or the store returned an error; any claim was
	// released so a retry can run.
	Failed
	// PayloadMismatch: the key was recorded with a different payload, so
	// this is not a duplicate but a different event reusing an identity.
	// Reported as a failure: the message ends in the dead-letter queue.
	PayloadMismatch
	// DeadlineExceeded: the claim lapsed (the invocation ran out of time)
	// before the effect was written; nothing was written.
	DeadlineExceeded
	// NotProcessed: skipped because an earlier message of an ordered
	// (FIFO) batch failed, or the context ended first.
	NotProcessed
	// Malformed: the message breaks the CloudEvents spec it claims to
	// follow, or has no identity (source and id); it is never processed.
	// Reported as a failure, so it reaches the dead-letter queue.
	Malformed
	// Conflict: the entity already has this event's version, written by
	// another event. The first event's state stays (first wins); this one
	// is reported as a failure, so it reaches the dead-letter queue: two
	// events with one version break the versioning the guard relies on.
	Conflict
)

var outcomeNames = [...]string{"", "applied", "duplicate", "stale", "in-flight", "failed", "payload-mismatch", "deadline-exceeded", "not-processed", "malformed", "conflict"}

func (o Outcome) String() string {
	if o > 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Acknowledged reports whether the message is done and must not be
// redelivered (Applied, Duplicate, Stale).
func (o Outcome) Acknowledged() bool { return o == Applied || o == Duplicate || o == Stale }

// Result is the outcome of one delivery.
type Result struct {
	Event   Event
	Outcome Outcome
	// Output is the handler's result (Applied) or the stored one (Duplicate).
	Output []byte
	// Err explains a failure outcome.
	Err error
}

// ErrPayloadMismatch is wrapped by Result.Err for PayloadMismatch.
var ErrPayloadMismatch = errors.New("dedup key already recorded with a different payload")

// ErrMalformed is wrapped by Result.Err for Malformed.
var ErrMalformed = errors.New("malformed event")

// ErrDeadline is wrapped by Result.Err for DeadlineExceeded.
var ErrDeadline = errors.New("claim reached its deadline, less the safety margin, before the effect was written")

// PanicError is the error of an event whose handler panicked: the event
// fails alone (its claim is released) instead of the panic ending the
// process and its whole batch. Only panics on the goroutine that calls the
// handler are recovered: a panic in a goroutine that the handler starts
// cannot be recovered by anyone but that goroutine, and still ends the process.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack (runtime/debug.Stack).
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n\n%s", e.Value, e.Stack)
}

// Process handles one delivery of ev with fn. A panic in fn (or in a store
// or Options function it calls) fails this event only: see PanicError.
func (p *Processor) Process(ctx context.Context, ev Event, fn Func) Result {
	res := p.process(ctx, ev, fn)
	p.outcomes.write(p.opts.Handler, res)
	return res
}

func (p *Processor) process(ctx context.Context, ev Event, fn Func) (res Result) {
	// A panic outside the handler (a store wrapper, say) fails the event
	// too; its claim, if any, lapses at its deadline.
	defer func() {
		if r := recover(); r != nil {
			res = Result{Event: ev, Outcome: Failed, Err: fmt.Errorf("processing %s: %w", ev.Key(), &PanicError{Value: r, Stack: debug.Stack()})}
		}
	}()
	if err := malformed(ev); err != nil {
		return Result{Event: ev, Outcome: Malformed, Err: err}
	}
	ctx = withEvent(ctx, ev)
	switch p.opts.Mode {
	case Transactional:
		return p.processTransactional(ctx, ev, fn)
	case SingleWrite:
		return p.processSingleWrite(ctx, ev, fn)
	}
	return p.processClaimComplete(ctx, ev, fn)
}

func (p *Processor) processClaimComplete(ctx context.Context, ev Event, fn Func) Result {
	now := p.opts.Now()
	key, hash := p.key(ev), p.hash(ev)
	deadline := p.deadline(ctx, now)
	token := newToken()
	held, err := p.store.Claim(ctx, store.Record{
		Key:    key,
		Status: store.InProgress,
		Token:  token,
		// A record lives at least as long as its claim, whatever the TTL.
		ExpiresAt:      later(now.Add(p.opts.TTL), deadline),
		ClaimExpiresAt: deadline,
		PayloadHash:    hash,
	}, now)
	// A held record with our own token is our claim: the SDK retried a
	// put whose first attempt had succeeded.
	if errors.Is(err, store.ErrHeld) && (held == nil || held.Token != token) {
		return p.held(ev, held, hash)
	}
	if err != nil && !errors.Is(err, store.ErrHeld) {
		return Result{Event: ev, Outcome: Failed, Err: fmt.Errorf("claiming %s: %w", key, err)}
	}

	fail := func(o Outcome, err error) Result {
		// The release outlives a cancelled invocation context so that a
		// retry need not wait for the claim to lapse.
		_ = p.store.Release(context.WithoutCancel(ctx), key, token)
		return Result{Event: ev, Outcome: o, Err: err}
	}
	// The delivery stops a margin before its deadline, so that its state
	// write lands before another delivery, whose clock may run ahead, can
	// take the lapsed claim.
	stop := deadline.Add(-p.margin(now, deadline))
	eff, err := p.run(ctx, ev, fn, now, stop)
	if err != nil {
		return fail(Failed, err)
	}
	// Past the stop another delivery may soon hold the key: writing now
	// could apply the effect twice.
	if !p.opts.Now().Before(stop) {
		return fail(DeadlineExceeded, fmt.Errorf("%s: %w", key, ErrDeadline))
	}
	outcome := Applied
	if eff.State != nil {
		switch err := p.store.PutState(ctx, *eff.State); {
		case errors.Is(err, store.ErrStale):
			outcome = Stale
		case errors.Is(err, store.ErrConflict):
			return fail(Conflict, fmt.Errorf("writing state of %s: %w", eff.State.Key, err))
		case err != nil:
			return fail(Failed, fmt.Errorf("writing state of %s: %w", eff.State.Key, err))
		}
	}
	// A stale event is completed too: it stays stale, so a redelivery can
	// skip it without touching the state table.
	err = p.complete(ctx, key, token, eff.Result, deadline)
	if err != nil && !errors.Is(err, store.ErrClaimLost) {
		// The effect is done; failing the message makes the redelivery
		// find the key claimed-then-lapsed and run the effect again, the
		// documented claim/complete window.
		return Result{Event: ev, Outcome: Failed, Err: fmt.Errorf("completing %s: %w", key, err)}
	}
	// ErrClaimLost: the claim lapsed after the effect was written and
	// another delivery holds the key; it completes the record.
	return Result{Event: ev, Outcome: outcome, Output: eff.Result}
}

func (p *Processor) processTransactional(ctx context.Context, ev Event, fn Func) Result {
	now := p.opts.Now()
	key, hash := p.key(ev), p.hash(ev)
	deadline := p.deadline(ctx, now)
	eff, err := p.run(ctx, ev, fn, now, deadline)
	if err != nil {
		return Result{Event: ev, Outcome: Failed, Err: err}
	}
	if !p.opts.Now().Before(deadline) {
		return Result{Event: ev, Outcome: DeadlineExceeded, Err: fmt.Errorf("%s: %w", key, ErrDeadline)}
	}
	token := newToken()
	held, err := p.store.Commit(ctx, store.Record{
		Key:         key,
		Status:      store.Completed,
		Token:       token,
		ExpiresAt:   now.Add(p.opts.TTL),
		PayloadHash: hash,
		Result:      eff.Result,
	}, now, eff.State)
	switch {
	case errors.Is(err, store.ErrHeld) && held != nil && held.Token == token:
		// Our own commit, seen by a retried request: it was applied.
	case errors.Is(err, store.ErrHeld):
		return p.held(ev, held, hash)
	case errors.Is(err, store.ErrStale):
		// Nothing is recorded: versions only grow, so a redelivery is
		// stale again.
		return Result{Event: ev, Outcome: Stale}
	case errors.Is(err, store.ErrConflict):
		return Result{Event: ev, Outcome: Conflict, Err: fmt.Errorf("committing %s: %w", key, err)}
	case err != nil:
		return Result{Event: ev, Outcome: Failed, Err: fmt.Errorf("committing %s: %w", key, err)}
	}
	return Result{Event: ev, Outcome: Applied, Output: eff.Result}
}

// processSingleWrite writes the handler's state with one conditional write
// and no dedup record: the entity's version decides duplicates.
func (p *Processor) processSingleWrite(ctx context.Context, ev Event, fn Func) Result {
	now := p.opts.Now()
	eff, err := p.run(ctx, ev, fn, now, p.deadline(ctx, now))
	if err != nil {
		return Result{Event: ev, Outcome: Failed, Err: err}
	}
	if eff.State == nil {
		return Result{Event: ev, Outcome: Failed, Err: fmt.Errorf("handling %s: single-write mode needs a state write: without one nothing tells a redelivery from a first delivery", ev.Key())}
	}
	switch err := p.store.PutStateOnce(ctx, *eff.State); {
	case err == nil:
		return Result{Event: ev, Outcome: Applied, Output: eff.Result}
	case errors.Is(err, store.ErrDuplicate):
		// Also our own write seen by a retried request: applied either way.
		return Result{Event: ev, Outcome: Duplicate}
	case errors.Is(err, store.ErrStale):
		return Result{Event: ev, Outcome: Stale}
	case errors.Is(err, store.ErrConflict):
		return Result{Event: ev, Outcome: Conflict, Err: fmt.Errorf("writing state of %s: %w", eff.State.Key, err)}
	default:
		return Result{Event: ev, Outcome: Failed, Err: fmt.Errorf("writing state of %s: %w", eff.State.Key, err)}
	}
}

// Completion retries: a Complete that fails after the effect succeeded is
// tried again, with backoff, while the claim holds.
const (
	completeAttempts = 5
	completeBackoff  = 10 * time.Millisecond
)

// complete marks the key completed, retrying a failed write while the claim
// still holds: giving up makes the redelivery run the effect again.
func (p *Processor) complete(ctx context.Context, key, token string, result []byte, deadline time.Time) error {
	backoff := completeBackoff
	for attempt := 1; ; attempt++ {
		err := p.store.Complete(ctx, key, token, result, p.opts.Now().Add(p.opts.TTL))
		if err == nil || errors.Is(err, store.ErrClaimLost) || attempt == completeAttempts || !p.opts.Now().Add(backoff).Before(deadline) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff *= 2
	}
}

// margin is the safety margin of a claim from now to deadline.
func (p *Processor) margin(now, deadline time.Time) time.Duration {
	return min(p.opts.Margin, deadline.Sub(now)/4)
}

// run calls fn with a context that ends at the claim's deadline and fills in
// the state write's defaults.
func (p *Processor) run(ctx context.Context, ev Event, fn Func, now, deadline time.Time) (eff Effect, err error) {
	defer func() {
		if r := recover(); r != nil {
			eff, err = Effect{}, fmt.Errorf("handling %s: %w", ev.Key(), &PanicError{Value: r, Stack: debug.Stack()})
		}
	}()
	fctx, cancel := context.WithTimeout(ctx, deadline.Sub(now))
	defer cancel()
	eff, err = fn(fctx, ev)
	if err != nil {
		return eff, fmt.Errorf("handling %s: %w", ev.Key(), err)
	}
	if w := eff.State; w != nil {
		cp := *w
		if cp.Table == "" {
			cp.Table = p.opts.StateTable
		}
		switch {
		case cp.Version != 0 && cp.Sequence != "":
			return eff, fmt.Errorf("handling %s: state write has both a numeric Version and a Sequence; set one", ev.Key())
		case cp.Version != 0 || cp.Sequence != "":
		case p.opts.Ordering == Lexicographic:
			if cp.Sequence = ev.Sequence; cp.Sequence == "" {
				return eff, fmt.Errorf("handling %s: lexicographic ordering needs the event's sequence attribute, or StateWrite.Sequence", ev.Key())
			}
		default:
			if cp.Version, err = p.opts.Version(ev); err != nil {
				return eff, err
			}
		}
		if cp.Table == "" || cp.Key == "" || (cp.Sequence == "" && cp.Version < 1) {
			return eff, fmt.Errorf("handling %s: state write needs a table (or Options.StateTable), a key and a positive version", ev.Key())
		}
		cp.Event = ev.Key()
		eff.State = &cp
	}
	return eff, nil
}

// malformed explains why ev must not be processed, or returns nil.
func malformed(ev Event) error {
	switch {
	case ev.Malformed != nil:
		return fmt.Errorf("message %s: %w: %w", ev.MessageID, ErrMalformed, ev.Malformed)
	case ev.Source == "" || ev.ID == "":
		// The identity is source and id together, never one alone.
		return fmt.Errorf("message %s: %w: its identity needs both a source (%q) and an id (%q)", ev.MessageID, ErrMalformed, ev.Source, ev.ID)
	}
	return nil
}

func (p *Processor) held(ev Event, rec *store.Record, hash string) Result {
	if rec == nil {
		return Result{Event: ev, Outcome: InFlight, Err: errors.New("dedup key held by another delivery")}
	}
	if !p.opts.SkipPayloadCheck && rec.PayloadHash != "" && rec.PayloadHash != hash {
		return Result{Event: ev, Outcome: PayloadMismatch, Err: fmt.Errorf("%s: %w", rec.Key, ErrPayloadMismatch)}
	}
	if rec.Status == store.Completed {
		return Result{Event: ev, Outcome: Duplicate, Output: rec.Result}
	}
	return Result{Event: ev, Outcome: InFlight, Err: fmt.Errorf("%s is claimed by another delivery until %s", rec.Key, rec.ClaimExpiresAt.Format(time.RFC3339))}
}

// deadline is when a claim taken at now lapses: the invocation's deadline
// when it comes before now+Timeout.
func (p *Processor) deadline(ctx context.Context, now time.Time) time.Time {
	d := now.Add(p.opts.Timeout)
	if dl, ok := ctx.Deadline(); ok {
		// Measured on the wall clock, applied to p's clock, so that a test
		// clock still honours a real invocation deadline.
		if byCtx := now.Add(time.Until(dl)); byCtx.Before(d) {
			d = byCtx
		}
	}
	return d
}

func (p *Processor) key(ev Event) string {
	if p.opts.Handler == "" {
		return ev.Key()
	}
	return p.opts.Handler + "/" + ev.Key()
}

func (p *Processor) hash(ev Event) string {
	if p.opts.SkipPayloadCheck {
		return ""
	}
	return payloadHash(ev)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
