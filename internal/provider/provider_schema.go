package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

func (p *threefactorProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"default_tags": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			Description: "Tags applied to every component of every handler of this provider, on every cloud, under each handler's own `tags`. " +
				"Each key and value is checked against the rules of the cloud of the handler that uses it.",
		},
	}
	for _, c := range p.clouds {
		desc := fmt.Sprintf("Settings for handlers with `cloud = %q`. Without this block the %s SDK's defaults apply (environment, shared configuration, default credentials).", c.Name, c.Title)
		if c.Planned {
			desc = fmt.Sprintf("Settings for handlers with `cloud = %q` (planned: the driver is not in this version).", c.Name)
		}
		block := map[string]schema.Attribute{}
		for _, s := range c.Settings {
			block[s.Name] = settingAttribute(s)
		}
		attrs[string(c.Name)] = schema.SingleNestedAttribute{Optional: true, Description: desc, Attributes: block}
	}
	resp.Schema = schema.Schema{
		Description: "Provisions event handlers (function, trigger, dead-letter queue and dedup table) from one cloud-neutral spec.",
		Attributes:  attrs,
	}
}

// settingAttribute is the schema of one setting of a cloud's provider block.
func settingAttribute(s driver.Setting) schema.Attribute {
	desc := s.Description
	if s.Removed != "" {
		desc = "Removed: " + s.Removed
	}
	switch s.Type {
	case driver.Int:
		var vs []validator.Int64
		if s.Max > 0 {
			vs = append(vs, int64validator.Between(s.Min, s.Max))
		}
		if s.Removed != "" {
			vs = append(vs, removed(s.Removed))
		}
		return schema.Int64Attribute{Optional: true, Description: desc, Validators: vs}
	case driver.StringMap:
		var vs []validator.Map
		if len(s.Keys) > 0 {
			vs = append(vs, mapvalidator.KeysAre(stringvalidator.OneOf(s.Keys...)))
			desc += " Keys: " + quoted(s.Keys) + "."
		}
		if s.Removed != "" {
			vs = append(vs, removed(s.Removed))
		}
		return schema.MapAttribute{Optional: true, ElementType: types.StringType, Description: desc, Validators: vs}
	}
	var vs []validator.String
	if s.Removed != "" {
		vs = append(vs, removed(s.Removed))
	}
	return schema.StringAttribute{Optional: true, Sensitive: s.Sensitive, Description: desc, Validators: vs}
}
