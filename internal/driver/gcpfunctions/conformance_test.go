package gcpfunctions_test

import (
	"context"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions/gcptest"
)

func TestConformanceGCP(t *testing.T) {
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		return gcptest.New(ctx, t)
	})
}
