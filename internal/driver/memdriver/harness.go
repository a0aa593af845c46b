package memdriver

import (
	"context"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Harness is the drivertest.Harness of the in-memory cloud; the provider's tests use it too.
type Harness struct{ Mem *Cloud }

// NewHarness returns a harness on an empty cloud in us-east-1.
func NewHarness() *Harness { return &Harness{Mem: NewCloud()} }

func (h *Harness) Driver() driver.Driver { return h.Mem.Driver("us-east-1") }

// Cloud reports spec.AWS: the in-memory cloud stands in for the cloud the provider knows best.
func (h *Harness) Cloud() spec.Cloud { return spec.AWS }

func (h *Harness) Code() *driver.Code { return &driver.Code{Zip: []byte("zip"), Hash: "0123abcd"} }

func (h *Harness) Remove(_ context.Context, st driver.State, c driver.Component) error {
	h.Mem.Remove(st.Get(c))
	return nil
}

func (h *Harness) Leftovers(context.Context) ([]string, error) { return h.Mem.Leftovers(), nil }

func (h *Harness) FailCreate(c driver.Component) { h.Mem.FailCreate(c) }

func (h *Harness) ExistingSource(_ context.Context, kind spec.TriggerKind) (string, error) {
	return h.Mem.AddSource(kind, "us-east-1", "existing"), nil
}

func (h *Harness) Close() {}
