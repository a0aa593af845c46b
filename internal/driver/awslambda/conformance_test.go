package awslambda_test

import (
	"context"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda/awstest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
)

func TestConformanceAWS(t *testing.T) {
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		return awstest.New(ctx, emulator(t))
	})
}
