package azurefunctions_test

import (
	"context"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions/azuretest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
)

func TestConformanceAzure(t *testing.T) {
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		return azuretest.New(ctx, t)
	})
}
