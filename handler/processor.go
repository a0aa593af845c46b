package handler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
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
	// a second write. Guarantee: an effect runs once per event, except
	// that a crash (or a lapsed claim) after the effect and before the
	// completion write runs the effect again on redelivery. The handler
	// may have any side effects.
	ClaimComplete Mode = iota
	// Transactional writes the dedup record and the handler's state write
	// in one transaction (DynamoDB TransactWriteItems): one write and no
	// window; a state write is applied at most once per event. The handler
	// runs before the key is checked and may run more than once for the
	// same event, so its only effect must be the state write it returns.
	Transactional
)

func (m Mode) String() string {
	switch m {
	case ClaimComplete:
		return "claim-complete"
	case Transactional:
		return "transactional"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Effect is what a handler asks the processor to write for an event.
type Effect struct {
	// State, when not nil, is written with the out-of-order guard: if the
	// entity already has a newer version the event is acknowledged as
	// Stale and dropped. An empty Table means Options.StateTable; a zero
	// Version means Options.Version(event).
	State *StateWrite
	// Result is stored with the dedup record and returned to duplicates.
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
	// StateTable is the default table of state writes.
	StateTable string
	// Version gives an event's entity version when a StateWrite has none:
	// Event.SequenceVersion when nil. Versions are positive.
	Version func(Event) (int64, error)
	// SkipPayloadCheck turns off the check that a key's deliveries carry
	// the same payload.
	SkipPayloadCheck bool
	// Now is the clock: time.Now when nil. Tests and the simulator pass a
	// controllable one.
	Now func() time.Time
}

// Processor makes a handler idempotent and order-tolerant. It is safe for
// concurrent use.
type Processor struct {
	store store.Store
	opts  Options
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
	return &Processor{store: s, opts: opts}
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
)

var outcomeNames = [...]string{"", "applied", "duplicate", "stale", "in-flight", "failed", "payload-mismatch", "deadline-exceeded", "not-processed", "malformed"}

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
var ErrDeadline = errors.New("claim lapsed before the effect was written")

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
func (p *Processor) Process(ctx context.Context, ev Event, fn Func) (res Result) {
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
	if p.opts.Mode == Transactional {
		return p.processTransactional(ctx, ev, fn)
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
	eff, err := p.run(ctx, ev, fn, now, deadline)
	if err != nil {
		return fail(Failed, err)
	}
	// Past the deadline another delivery may hold the key: writing now
	// could apply the effect twice.
	if !p.opts.Now().Before(deadline) {
		return fail(DeadlineExceeded, fmt.Errorf("%s: %w", key, ErrDeadline))
	}
	outcome := Applied
	if eff.State != nil {
		switch err := p.store.PutState(ctx, *eff.State); {
		case errors.Is(err, store.ErrStale):
			outcome = Stale
		case err != nil:
			return fail(Failed, fmt.Errorf("writing state of %s: %w", eff.State.Key, err))
		}
	}
	// A stale event is completed too: it stays stale, so a redelivery can
	// skip it without touching the state table.
	err = p.store.Complete(ctx, key, token, eff.Result, p.opts.Now().Add(p.opts.TTL))
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
	case err != nil:
		return Result{Event: ev, Outcome: Failed, Err: fmt.Errorf("committing %s: %w", key, err)}
	}
	return Result{Event: ev, Outcome: Applied, Output: eff.Result}
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
		if cp.Version == 0 {
			if cp.Version, err = p.opts.Version(ev); err != nil {
				return eff, err
			}
		}
		if cp.Table == "" || cp.Key == "" || cp.Version < 1 {
			return eff, fmt.Errorf("handling %s: state write needs a table (or Options.StateTable), a key and a positive version", ev.Key())
		}
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
