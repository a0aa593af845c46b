// Package provider is the Terraform glue: schemas, plan-time validation and the resource's CRUD, each
// of which translates between Terraform values and a spec.Handler and calls one cloud's driver.
package provider

import (
	"context"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

var _ provider.Provider = &threefactorProvider{}

// DriverFactory opens the driver of one cloud from the provider's configuration.
type DriverFactory func(ctx context.Context, c spec.Cloud, cfg *providerModel) (driver.Driver, error)

type threefactorProvider struct {
	version    string
	newDrivers DriverFactory
}

// New returns the provider that opens each cloud's real driver.
func New(version string) func() provider.Provider {
	return NewWithDrivers(version, openDriver)
}

// NewWithDrivers returns a provider whose drivers come from open, so tests can run the glue on an
// in-memory driver.
func NewWithDrivers(version string, open DriverFactory) func() provider.Provider {
	return func() provider.Provider {
		return &threefactorProvider{version: version, newDrivers: open}
	}
}

func (p *threefactorProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "threefactor"
	resp.Version = p.version
}

func (p *threefactorProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := &providerData{cfg: &cfg, open: p.newDrivers, drivers: map[spec.Cloud]driver.Driver{}}
	if cfg.AWS != nil {
		data.defaultTags = stringMap(cfg.AWS.DefaultTags)
	}
	resp.ResourceData = data
}

func (p *threefactorProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewEventHandlerResource}
}

func (p *threefactorProvider) DataSources(context.Context) []func() datasource.DataSource {
	return nil
}

// providerData is what Configure hands the resources: drivers are opened on first use, so a
// configuration that uses one cloud never needs credentials for another.
type providerData struct {
	cfg         *providerModel
	open        DriverFactory
	defaultTags map[string]string

	mu      sync.Mutex
	drivers map[spec.Cloud]driver.Driver
}

func (d *providerData) driver(ctx context.Context, c spec.Cloud) (driver.Driver, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if drv, ok := d.drivers[c]; ok {
		return drv, nil
	}
	drv, err := d.open(ctx, c, d.cfg)
	if err != nil {
		return nil, err
	}
	d.drivers[c] = drv
	return drv, nil
}

func stringMap(m types.Map) map[string]string {
	out := map[string]string{}
	for k, v := range m.Elements() {
		if s, ok := v.(types.String); ok && !s.IsNull() && !s.IsUnknown() {
			out[k] = s.ValueString()
		}
	}
	return out
}
