package provider

import (
	"context"
	"fmt"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// openDriver opens the real driver of cloud c.
func openDriver(ctx context.Context, c spec.Cloud, cfg *providerModel) (driver.Driver, error) {
	if c != spec.AWS {
		return nil, fmt.Errorf("the %s driver is not implemented in this version of the provider", c)
	}
	var ac awslambda.Config
	if a := cfg.AWS; a != nil {
		ac.Region = a.Region.ValueString()
		ac.Profile = a.Profile.ValueString()
		ac.Endpoint = a.Endpoint.ValueString()
		ac.Endpoints = stringMap(a.Endpoints)
		if !a.MaxRetries.IsNull() {
			ac.MaxRetries = int(a.MaxRetries.ValueInt64())
		}
	}
	return awslambda.New(ctx, ac)
}
