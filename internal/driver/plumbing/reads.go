package plumbing

import (
	"sync"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// Reads reads the components a state records, concurrently and once each, and collects those
// found gone: the shape of every driver's Read.
type Reads struct {
	st      driver.State
	fs      []func() error
	mu      sync.Mutex
	missing []driver.Component
}

// NewReads starts the reads of the components st records.
func NewReads(st driver.State) *Reads { return &Reads{st: st} }

// Add schedules the read of component c when the state records it; read reports whether it exists.
func (r *Reads) Add(c driver.Component, read func(id string) (found bool, err error)) {
	id := r.st.Get(c)
	if id == "" {
		return
	}
	r.fs = append(r.fs, func() error {
		found, err := read(id)
		if err == nil && !found {
			r.mu.Lock()
			r.missing = append(r.missing, c)
			r.mu.Unlock()
		}
		return err
	})
}

// Run runs the reads and returns the components found gone, sorted in order, and their errors joined.
func (r *Reads) Run(order []driver.Component) ([]driver.Component, error) {
	err := Concurrently(r.fs...)
	return SortComponents(r.missing, order), err
}
