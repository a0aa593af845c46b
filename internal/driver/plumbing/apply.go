package plumbing

import "github.com/threefactor/terraform-provider-threefactor/internal/driver"

// Apply is the shape of every driver's Apply: on an existing state the recorded components are read
// first (see, as Read does) and those found gone are forgotten; then apply makes what is missing
// and changes only what differs from what was seen, recording each component it makes in the
// ledger. The state returned holds every component that exists, on error too; when the reads fail,
// it is st unchanged. none is what see returns for a state that records nothing.
func Apply[S any](st driver.State, owned OwnedKeys, none S, see func(driver.State) (S, []driver.Component, error), apply func(*Ledger, S) error) (driver.State, error) {
	l := NewLedger(st, owned)
	cur := none
	if len(st) > 0 {
		var missing []driver.Component
		var err error
		if cur, missing, err = see(st); err != nil {
			return st, err
		}
		for _, c := range missing {
			l.Forget(c)
		}
	}
	err := apply(l, cur)
	return l.Snapshot(), err
}
