package memdriver

import (
	"context"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Scope is the scope the harness's driver works in.
const Scope = "test"

// Harness is the drivertest.Harness of the in-memory cloud; the provider's tests use it too.
type Harness struct {
	Mem   *Cloud
	cloud *driver.Cloud
}

// NewHarness returns a harness on an empty cloud.
func NewHarness() *Harness {
	c := NewCloud()
	return &Harness{Mem: c, cloud: Describe(c)}
}

func (h *Harness) Driver() driver.Driver { return h.Mem.Driver(Scope) }

func (h *Harness) Cloud() *driver.Cloud { return h.cloud }

func (h *Harness) Code() *driver.Code { return &driver.Code{Zip: []byte("zip"), Hash: "0123abcd"} }

func (h *Harness) Remove(_ context.Context, st driver.State, c driver.Component) error {
	h.Mem.Remove(st.Get(c))
	return nil
}

func (h *Harness) Leftovers(context.Context) ([]string, error) { return h.Mem.Leftovers(), nil }

// Pause pauses the handler's delivery behind the driver's back.
func (h *Harness) Pause(_ context.Context, st driver.State) error {
	h.Mem.Pause(st.Get(driver.Function))
	return nil
}

func (h *Harness) FailCreate(c driver.Component) { h.Mem.FailCreate(c) }

func (h *Harness) ExistingSource(_ context.Context, kind spec.TriggerKind) (string, error) {
	return h.Mem.AddSource(kind, Scope, "existing"), nil
}

func (h *Harness) Close() {}
