// Package provider is the Terraform glue: schemas, plan-time validation and the resource's CRUD, each
// of which translates between Terraform values and a spec.Handler and calls one cloud's driver. What
// it knows of a cloud comes from that cloud's driver.Cloud description (see Clouds).
package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

var _ provider.Provider = &threefactorProvider{}

type threefactorProvider struct {
	version string
	clouds  clouds
}

// New returns the provider with the clouds it ships.
func New(version string) func() provider.Provider {
	return NewWithClouds(version, Clouds()...)
}

// NewWithClouds returns a provider for the clouds given, so tests can add the in-memory one.
func NewWithClouds(version string, cs ...*driver.Cloud) func() provider.Provider {
	return func() provider.Provider {
		return &threefactorProvider{version: version, clouds: cs}
	}
}

func (p *threefactorProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "threefactor"
	resp.Version = p.version
}

func (p *threefactorProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	data := &providerData{settings: map[spec.Cloud]driver.Settings{}, drivers: map[spec.Cloud]driver.Driver{}}
	var tags types.Map
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("default_tags"), &tags)...)
	data.defaultTags = stringMap(tags)
	for _, c := range p.clouds {
		var block types.Object
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(string(c.Name)), &block)...)
		data.settings[c.Name] = settingsOf(block)
	}
	resp.ResourceData = data
}

func (p *threefactorProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{newEventHandlerResource(p.clouds), newTopicResource(p.clouds), newTableResource(p.clouds)}
}

func (p *threefactorProvider) DataSources(context.Context) []func() datasource.DataSource {
	return nil
}

// clouds are the clouds a provider serves.
type clouds []*driver.Cloud

// lookup returns the cloud named name, or an error that says what is allowed.
func (cs clouds) lookup(name spec.Cloud) (*driver.Cloud, error) {
	for _, c := range cs {
		if c.Name != name {
			continue
		}
		if c.Planned {
			return nil, fmt.Errorf("cloud %q is planned but its driver is not in this version of the provider; use %s", name, cs.available())
		}
		return c, nil
	}
	return nil, fmt.Errorf("cloud must be %s, got %q", cs.available(), name)
}

// available lists the clouds with a driver, for diagnostics.
func (cs clouds) available() string {
	var names []string
	for _, c := range cs {
		if !c.Planned {
			names = append(names, fmt.Sprintf("%q", c.Name))
		}
	}
	return strings.Join(names, " or ")
}

// importForms lists the import id forms of the clouds with a driver, for diagnostics.
func (cs clouds) importForms() string {
	var forms []string
	for _, c := range cs {
		if !c.Planned {
			forms = append(forms, c.ImportID)
		}
	}
	return strings.Join(forms, " or ")
}

// names lists every cloud for the schema's docs: those with a driver, then the planned ones.
func (cs clouds) names() string {
	var have, planned []string
	for _, c := range cs {
		if c.Planned {
			planned = append(planned, "`"+string(c.Name)+"`")
		} else {
			have = append(have, "`"+string(c.Name)+"`")
		}
	}
	s := strings.Join(have, ", ")
	if len(planned) > 0 {
		s += " (" + strings.Join(planned, " and ") + " are planned)"
	}
	return s
}

// providerData is what Configure hands the resources: drivers are opened on first use, so a
// configuration that uses one cloud never needs credentials for another.
type providerData struct {
	settings    map[spec.Cloud]driver.Settings
	defaultTags map[string]string

	mu      sync.Mutex
	drivers map[spec.Cloud]driver.Driver
}

func (d *providerData) driver(ctx context.Context, c *driver.Cloud) (driver.Driver, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if drv, ok := d.drivers[c.Name]; ok {
		return drv, nil
	}
	drv, err := c.Open(ctx, d.settings[c.Name])
	if err != nil {
		return nil, err
	}
	d.drivers[c.Name] = drv
	return drv, nil
}

// settingsOf reads a cloud's provider block.
func settingsOf(block types.Object) driver.Settings {
	s := driver.Settings{}
	for name, v := range block.Attributes() {
		switch v := v.(type) {
		case types.String:
			if !v.IsNull() && !v.IsUnknown() {
				s[name] = v.ValueString()
			}
		case types.Int64:
			if !v.IsNull() && !v.IsUnknown() {
				s[name] = v.ValueInt64()
			}
		case types.Map:
			if !v.IsNull() && !v.IsUnknown() {
				s[name] = stringMap(v)
			}
		}
	}
	return s
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
