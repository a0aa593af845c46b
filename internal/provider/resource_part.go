package provider

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// An app's shared parts (threefactor_topic, threefactor_table) are one cloud resource each: one
// generic resource serves both, given what differs in a partKind and the part's model.

// partKind describes one kind of part to the generic resource.
type partKind[S any] struct {
	// name is the resource type's suffix ("topic").
	name        string
	description string
	// attributes are the kind's own, beside the common ones.
	attributes map[string]schema.Attribute
	// supported reports whether cloud rules r have the kind.
	supported func(r *spec.Rules) bool
	open      func(driver.Parts) driver.Part[S]
	// tags and nameOf read a part's tags and name.
	tags     func(*S) map[string]string
	nameOf   func(*S) string
	validate func(s *S, r *spec.Rules, known spec.Known) []spec.Problem
}

// partCommon holds the attributes every part has; each kind's model embeds it.
type partCommon struct {
	ID           types.String `tfsdk:"id"`
	Name         types.String `tfsdk:"name"`
	Cloud        types.String `tfsdk:"cloud"`
	Tags         types.Map    `tfsdk:"tags"`
	TagsAll      types.Map    `tfsdk:"tags_all"`
	ForceDestroy types.Bool   `tfsdk:"force_destroy"`
}

// partModel is a kind's model, M being its struct.
type partModel[S any, M any] interface {
	*M
	common() *partCommon
	// spec converts the model for cloud c, filling nulls from c's defaults; it reports which
	// attribute paths are unknown.
	spec(c *driver.Cloud, defaultTags map[string]string) (*S, *values)
	// plan writes the plan's computed values of s: its defaults, and what creating makes unknown.
	plan(s *S, v *values, prior *M)
	// observe writes the kind's attributes from what the cloud has (partResource writes the common ones).
	observe(o *driver.ObservedPart[S], c *driver.Cloud)
	// cloudID is the part's cloud id (topic_id, table_id), at idPath.
	cloudID() string
	idPath() path.Path
}

type partResource[S any, M any, PM partModel[S, M]] struct {
	kind   partKind[S]
	clouds clouds
	data   *providerData
}

func (r *partResource[S, M, PM]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.name
}

func (r *partResource[S, M, PM]) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Computed:      true,
			Description:   "Import id of the " + r.kind.name + ": `<cloud>/<scope>/<name>`, as a handler's.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"name": schema.StringAttribute{
			Required: true,
			Description: "Name: lowercase letters, digits and single hyphens, starting with a letter, never `--` (which only a handler's own " +
				"components use). Changing it replaces the " + r.kind.name + ".",
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"cloud": schema.StringAttribute{
			Required:      true,
			Description:   "Cloud the " + r.kind.name + " lives on: " + r.clouds.names() + ". Changing it replaces the " + r.kind.name + ".",
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"tags": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			Description: "Tags (labels), checked against the cloud's key and value rules.",
		},
		"tags_all": schema.MapAttribute{
			Computed: true, ElementType: types.StringType,
			Description: "`tags` merged over the provider's `default_tags`.",
		},
		"force_destroy": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			Description: "Destroy even when the " + r.kind.name + " is in use (see above). `false` by default.",
		},
	}
	maps.Copy(attrs, r.kind.attributes)
	resp.Schema = schema.Schema{Description: r.kind.description, Attributes: attrs}
}

func (r *partResource[S, M, PM]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data, ok := req.ProviderData.(*providerData); ok {
		r.data = data
	}
}

// cloudOf looks up the model's cloud, reporting an unknown cloud or one without the kind on the
// cloud attribute.
func (r *partResource[S, M, PM]) cloudOf(m PM, diags *diag.Diagnostics) *driver.Cloud {
	c, err := r.clouds.lookup(spec.Cloud(m.common().Cloud.ValueString()))
	switch {
	case err != nil:
		diags.AddAttributeError(path.Root("cloud"), "Unsupported cloud", err.Error()+".")
		return nil
	case !r.kind.supported(c.Rules):
		var have []string
		for _, o := range r.clouds {
			if r.kind.supported(o.Rules) {
				have = append(have, string(o.Name))
			}
		}
		diags.AddAttributeError(path.Root("cloud"), "Unsupported cloud", fmt.Sprintf(
			"threefactor_%s is not available on %s in this provider version; it is on: %s.", r.kind.name, c.Name, strings.Join(have, ", ")))
		return nil
	}
	return c
}

func (r *partResource[S, M, PM]) defaultTags() map[string]string {
	if r.data == nil {
		return nil
	}
	return r.data.defaultTags
}

// open looks up m's cloud and opens its part of this kind, reporting failures in diags; the part is
// nil when either fails.
func (r *partResource[S, M, PM]) open(ctx context.Context, m PM, diags *diag.Diagnostics) (*driver.Cloud, driver.Part[S]) {
	c := r.cloudOf(m, diags)
	if diags.HasError() {
		return nil, nil
	}
	return c, r.part(ctx, c, diags)
}

// part opens the driver of cloud c and returns its part of this kind.
func (r *partResource[S, M, PM]) part(ctx context.Context, c *driver.Cloud, diags *diag.Diagnostics) driver.Part[S] {
	drv, err := r.data.driver(ctx, c)
	if err != nil {
		diags.AddAttributeError(path.Root("cloud"), "Opening the "+string(c.Name)+" driver", fmt.Sprintf("%v. Check the provider's %s block.", err, c.Name))
		return nil
	}
	parts, ok := drv.(driver.Parts)
	if !ok { // cloudOf admits only clouds whose rules have the kind, whose drivers implement Parts
		diags.AddAttributeError(path.Root("cloud"), "Opening the "+string(c.Name)+" driver",
			fmt.Sprintf("The %s driver has no %ss. Please report this issue to the provider developers.", c.Name, r.kind.name))
		return nil
	}
	return r.kind.open(parts)
}

func (r *partResource[S, M, PM]) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	plan, cfg := PM(new(M)), PM(new(M))
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, cfg)...)
	if resp.Diagnostics.HasError() || plan.common().Cloud.IsUnknown() {
		return
	}
	c := r.cloudOf(plan, &resp.Diagnostics)
	if c == nil {
		return
	}
	resp.Diagnostics.Append(problemDiags(spec.CheckTagMap(r.defaultTags(), c.Name, c.Rules, "default_tags"))...)
	// The configuration, its nulls filled from the cloud's defaults, is the desired part: in the plan
	// an unset Optional+Computed attribute is unknown, which would hide its default.
	s, v := cfg.spec(c, r.defaultTags())
	resp.Diagnostics.Append(problemDiags(r.kind.validate(s, c.Rules, v.known))...)
	var prior *M
	if !req.State.Raw.IsNull() {
		prior = new(M)
		resp.Diagnostics.Append(req.State.Get(ctx, prior)...)
	}
	plan.plan(s, v, prior)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

func (r *partResource[S, M, PM]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	plan := PM(new(M))
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	c, p := r.open(ctx, plan, &resp.Diagnostics)
	if p == nil {
		return
	}
	s, _ := plan.spec(c, r.defaultTags())
	id, err := p.Apply(ctx, s, "")
	if err != nil {
		if id == "" {
			resp.Diagnostics.Append(errorDiags(c, err, "Nothing was left behind. Fix the cause and apply again.")...)
			return
		}
		// Roll back what this create made, so that nothing is left Terraform does not know about.
		if rerr := p.Delete(context.WithoutCancel(ctx), id, true); rerr != nil {
			resp.Diagnostics.Append(errorDiags(c, err, "Fix the cause and apply again.")...)
			resp.Diagnostics.Append(errorDiags(c, rerr, fmt.Sprintf("Rolling back left %s; it is recorded in state, so the next apply reuses or replaces it.", id))...)
			r.observe(ctx, p, c, plan, id, &resp.Diagnostics)
			resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
			return
		}
		resp.Diagnostics.Append(errorDiags(c, err, "Nothing was left behind: what this apply created was deleted again. Fix the cause and apply again.")...)
		return
	}
	plan.common().ID = types.StringValue(p.ImportID(plan.common().Name.ValueString()))
	if r.observe(ctx, p, c, plan, id, &resp.Diagnostics) {
		resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	}
}

// observe reads the part with id into m, reporting whether it exists.
func (r *partResource[S, M, PM]) observe(ctx context.Context, p driver.Part[S], c *driver.Cloud, m PM, id string, diags *diag.Diagnostics) bool {
	obs, err := p.Read(ctx, id)
	if err != nil {
		diags.Append(errorDiags(c, err, "Check the provider's "+string(c.Name)+" block and apply again.")...)
		return false
	}
	if obs == nil {
		return false
	}
	cm := m.common()
	var prior map[string]string
	if !cm.Tags.IsNull() {
		prior = stringMap(cm.Tags)
	}
	all := r.kind.tags(&obs.Spec)
	cm.Name, cm.Cloud = types.StringValue(r.kind.nameOf(&obs.Spec)), types.StringValue(string(c.Name))
	cm.TagsAll = mapValue(all)
	if t := userTags(all, r.defaultTags(), prior); t == nil {
		cm.Tags = types.MapNull(types.StringType)
	} else {
		cm.Tags = mapValue(t)
	}
	m.observe(obs, c)
	return true
}

func (r *partResource[S, M, PM]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state := PM(new(M))
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	c, p := r.open(ctx, state, &resp.Diagnostics)
	if p == nil {
		return
	}
	if !r.observe(ctx, p, c, state, state.cloudID(), &resp.Diagnostics) {
		if !resp.Diagnostics.HasError() {
			resp.State.RemoveResource(ctx) // gone: the plan shows it created again
		}
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *partResource[S, M, PM]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	plan, state := PM(new(M)), PM(new(M))
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	c, p := r.open(ctx, plan, &resp.Diagnostics)
	if p == nil {
		return
	}
	s, _ := plan.spec(c, r.defaultTags())
	id, err := p.Apply(ctx, s, state.cloudID())
	if err != nil {
		resp.Diagnostics.Append(errorDiags(c, err, "Fix the cause and apply again.")...)
		return
	}
	if r.observe(ctx, p, c, plan, id, &resp.Diagnostics) {
		resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	}
}

func (r *partResource[S, M, PM]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state := PM(new(M))
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	c, p := r.open(ctx, state, &resp.Diagnostics)
	if p == nil {
		return
	}
	if err := p.Delete(ctx, state.cloudID(), state.common().ForceDestroy.ValueBool()); err != nil {
		resp.Diagnostics.Append(errorDiags(c, err, "")...)
	}
}

func (r *partResource[S, M, PM]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	c, err := r.clouds.lookup(spec.Cloud(parts[0]))
	if err != nil || len(parts) < 2 {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("Expected <cloud>/<scope>/<name>, such as %s, got %q.", r.clouds.importForms(), req.ID))
		return
	}
	name := parts[len(parts)-1]
	m := PM(new(M))
	m.common().Cloud = types.StringValue(string(c.Name))
	if c = r.cloudOf(m, &resp.Diagnostics); c == nil {
		return
	}
	p := r.part(ctx, c, &resp.Diagnostics)
	if p == nil {
		return
	}
	if want := p.ImportID(name); want != req.ID {
		resp.Diagnostics.AddError("Invalid import id",
			fmt.Sprintf("This provider's %s settings import %s %q as %q, got %q: check the provider's %s block.", c.Name, r.kind.name, name, want, req.ID, c.Name))
		return
	}
	id, err := p.Locate(ctx, name)
	if err != nil {
		resp.Diagnostics.Append(errorDiags(c, err, "Check the "+r.kind.name+"'s name and the provider's "+string(c.Name)+" block.")...)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("cloud"), string(c.Name))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("force_destroy"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, m.idPath(), id)...)
}
