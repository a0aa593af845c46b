package plumbing

import (
	"slices"
	"sync"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// OwnedKeys maps a component to the driver-private state keys that live and die with it (such as
// the settings an adopted queue had before, which mean nothing once the queue is released).
type OwnedKeys map[driver.Component][]string

// Forget deletes component c, and the keys c owns, from st.
func (o OwnedKeys) Forget(st driver.State, c driver.Component) {
	delete(st, string(c))
	for _, k := range o[c] {
		delete(st, k)
	}
}

// Ledger is the state a driver builds while it makes or deletes components concurrently: every
// component is recorded as soon as a call has made it, so that nothing made is unknown to the
// caller when a later call fails. It is safe for concurrent use.
type Ledger struct {
	mu    sync.Mutex
	st    driver.State
	owned OwnedKeys
}

// NewLedger returns a ledger that starts from a copy of st; Forget drops the keys owned names with
// their component.
func NewLedger(st driver.State, owned OwnedKeys) *Ledger {
	return &Ledger{st: st.Clone(), owned: owned}
}

// Set records v under key k (a component's name or a private key); "" deletes k.
func (l *Ledger) Set(k, v string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v == "" {
		delete(l.st, k)
		return
	}
	l.st[k] = v
}

// Get returns the value under key k, or "".
func (l *Ledger) Get(k string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st[k]
}

// Snapshot returns a copy of the state recorded so far.
func (l *Ledger) Snapshot() driver.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Clone()
}

// Forget drops component c and the private keys it owns.
func (l *Ledger) Forget(c driver.Component) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.owned.Forget(l.st, c)
}

// SortComponents sorts cs in place by their position in order (a cloud's creation order), so that
// results never depend on timing, and returns cs. Components order lacks go first.
func SortComponents(cs, order []driver.Component) []driver.Component {
	slices.SortFunc(cs, func(a, b driver.Component) int {
		return slices.Index(order, a) - slices.Index(order, b)
	})
	return cs
}
