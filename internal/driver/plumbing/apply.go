package plumbing

import (
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

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

// Observe is the shape of every driver's Read: see reads the components st records once each; the
// state left holds those found, and handler rebuilds the handler from what was seen, drifted lists
// what differs in ways the handler cannot show, outputs the computed ids.
func Observe[S any](st driver.State, owned OwnedKeys, see func(driver.State) (S, []driver.Component, error),
	handler func(driver.State, S) spec.Handler, drifted func(driver.State, S, *spec.Handler) []driver.Component,
	outputs func(driver.State) driver.Outputs) (*driver.Observed, error) {
	s, missing, err := see(st)
	if err != nil {
		return nil, err
	}
	left := st.Clone()
	for _, c := range missing {
		owned.Forget(left, c)
	}
	h := handler(left, s)
	return &driver.Observed{Handler: h, State: left, Missing: missing, Outputs: outputs(left), Drifted: drifted(left, s, &h)}, nil
}
