package memdriver

import (
	"context"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
)

func TestConformanceMem(t *testing.T) {
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) {
		return NewHarness(), nil
	})
}
