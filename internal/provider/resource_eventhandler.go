package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

var (
	_ resource.ResourceWithConfigure      = &eventHandlerResource{}
	_ resource.ResourceWithImportState    = &eventHandlerResource{}
	_ resource.ResourceWithModifyPlan     = &eventHandlerResource{}
	_ resource.ResourceWithValidateConfig = &eventHandlerResource{}
)

// newEventHandlerResource returns the threefactor_eventhandler resource for the clouds cs.
func newEventHandlerResource(cs clouds) func() resource.Resource {
	return func() resource.Resource { return &eventHandlerResource{clouds: cs} }
}

type eventHandlerResource struct {
	clouds clouds
	// data is nil until the provider is configured (configuration validation comes before).
	data *providerData
}

func (r *eventHandlerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_eventhandler"
}

func (r *eventHandlerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	data, ok := req.ProviderData.(*providerData)
	if !ok {
		resp.Diagnostics.AddError("Unexpected provider data", fmt.Sprintf("Expected *providerData, got %T. Please report this issue to the provider developers.", req.ProviderData))
		return
	}
	r.data = data
}

func (r *eventHandlerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan eventHandlerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, h := r.handlerOf(&plan, &resp.Diagnostics)
	if c == nil {
		return
	}
	drv, code, diags := r.prepare(ctx, c, h, plan.SourceHash.ValueString())
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, plan.timeout("create", c))
	defer cancel()

	st, out, err := drv.Apply(ctx, h, code, nil)
	if err != nil {
		// Roll back so that a failed create leaves nothing Terraform does not know about.
		left, rerr := drv.Delete(context.WithoutCancel(ctx), st)
		if rerr == nil {
			resp.Diagnostics.Append(errorDiags(c, err, "Nothing was left behind: every component this apply created was deleted again. Fix the cause and apply again.")...)
			return
		}
		resp.Diagnostics.Append(errorDiags(c, err, "Fix the cause and apply again.")...)
		resp.Diagnostics.Append(errorDiags(c, rerr, "Rolling back the failed create left the components listed in `components`; they are recorded in state, so the next apply deletes or reuses them.")...)
		plan.setOutputs(c, drv.ImportID(h.Name), driver.Outputs{}, left, nil)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		resp.Diagnostics.Append(setPrivate(ctx, resp.Private, left)...)
		return
	}
	plan.setOutputs(c, drv.ImportID(h.Name), out, st, nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(setPrivate(ctx, resp.Private, st)...)
}

func (r *eventHandlerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state eventHandlerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, prior := r.handlerOf(&state, &resp.Diagnostics)
	if c == nil {
		return
	}
	drv := r.openDriver(ctx, c, &resp.Diagnostics)
	if drv == nil {
		return
	}
	st, diags := getPrivate(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if st == nil && !resp.Diagnostics.HasError() {
		// Imported, or written by a create whose private state was lost: find the components by name.
		var err error
		if st, err = drv.Locate(ctx, prior.Name); driver.CodeOf(err) == driver.NotFound {
			resp.State.RemoveResource(ctx)
			return
		} else if err != nil {
			resp.Diagnostics.Append(errorDiags(c, err, "")...)
			return
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	obs, err := drv.Read(ctx, st)
	if err != nil {
		resp.Diagnostics.Append(errorDiags(c, err, "")...)
		return
	}
	if !hasAnyComponent(c, obs.State) {
		resp.Diagnostics.AddWarning("Event handler deleted outside Terraform",
			fmt.Sprintf("None of the components of handler %q exist any more; it is removed from state and the next apply creates it again.", prior.Name))
		resp.State.RemoveResource(ctx)
		return
	}
	h := obs.Settled(prior, c.Holds)
	if !slices.Contains(obs.Missing, driver.Function) {
		h.Function.Environment, h.Function.SecretEnvironment = splitSecrets(obs.Handler.Function.Environment, state.secretKeys())
	}
	state.setHandler(&h, c, userTags(h.Tags, r.data.defaultTags, state.userTags()), known)
	// Drifted components keep their ids in private state, so the update puts them right in place.
	state.setOutputs(c, drv.ImportID(h.Name), obs.Outputs, obs.State, append(obs.Missing, obs.Drifted...))
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	resp.Diagnostics.Append(setPrivate(ctx, resp.Private, obs.State)...)
}

func (r *eventHandlerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state eventHandlerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	st, diags := getPrivate(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, h := r.handlerOf(&plan, &resp.Diagnostics)
	if c == nil {
		return
	}
	// Upload code only when the function needs it: the cloud says when (new code, and on some clouds
	// other changes), or a function to recreate.
	_, prior := r.handlerOf(&state, &resp.Diagnostics)
	wantHash := ""
	if c.Plan(prior, h).Code || componentMissing(state.Components, driver.Function) {
		wantHash = h.Function.SourceHash
	}
	drv, code, diags := r.prepare(ctx, c, h, wantHash)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, plan.timeout("update", c))
	defer cancel()

	st, out, err := drv.Apply(ctx, h, code, st)
	resp.Diagnostics.Append(setPrivate(ctx, resp.Private, st)...)
	if err != nil {
		// Keep the prior settings, so the next plan shows the change again, but record every component
		// that exists now.
		state.setOutputs(c, state.ID.ValueString(), outputsOf(state), st, nil)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		resp.Diagnostics.Append(errorDiags(c, err, "The components updated before the failure keep their new settings; apply again to converge.")...)
		return
	}
	plan.setOutputs(c, drv.ImportID(h.Name), out, st, nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *eventHandlerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state eventHandlerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	st, diags := getPrivate(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, _ := r.handlerOf(&state, &resp.Diagnostics)
	if c == nil {
		return
	}
	drv := r.openDriver(ctx, c, &resp.Diagnostics)
	if drv == nil {
		return
	}
	if st == nil {
		st = stateFromComponents(state.Components)
	}
	ctx, cancel := context.WithTimeout(ctx, state.timeout("delete", c))
	defer cancel()
	if left, err := drv.Delete(ctx, st); err != nil {
		resp.Diagnostics.Append(setPrivate(ctx, resp.Private, left)...)
		resp.Diagnostics.Append(errorDiags(c, err, "The components deleted before the failure stay deleted; apply or destroy again to finish.")...)
	}
}

func (r *eventHandlerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	c, err := r.clouds.lookup(spec.Cloud(parts[0]))
	if err != nil || len(parts) < 2 {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("Expected <cloud>/<scope>/<name>, such as %s, got %q.", r.clouds.importForms(), req.ID))
		return
	}
	name := parts[len(parts)-1]
	drv := r.openDriver(ctx, c, &resp.Diagnostics)
	if drv == nil {
		return
	}
	if want := drv.ImportID(name); want != req.ID {
		resp.Diagnostics.AddError("Invalid import id",
			fmt.Sprintf("This provider's %s settings import handler %q as %q (%s), got %q: check the provider's %s block.", c.Name, name, want, c.ImportID, req.ID, c.Name))
		return
	}
	st, err := drv.Locate(ctx, name)
	if err != nil {
		resp.Diagnostics.Append(errorDiags(c, err, "Check the handler's name and the provider's "+string(c.Name)+" block.")...)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("cloud"), string(c.Name))...)
	resp.Diagnostics.Append(setPrivate(ctx, resp.Private, st)...)
}

// handlerOf looks up m's cloud and converts m for it, reporting an unknown cloud on the cloud attribute.
func (r *eventHandlerResource) handlerOf(m *eventHandlerModel, diags *diag.Diagnostics) (*driver.Cloud, *spec.Handler) {
	c, err := r.clouds.lookup(spec.Cloud(m.Cloud.ValueString()))
	if err != nil {
		diags.AddAttributeError(path.Root("cloud"), "Unsupported cloud", err.Error()+".")
		return nil, nil
	}
	h, _ := m.handler(c, r.defaultTags())
	return c, h
}

func (r *eventHandlerResource) defaultTags() map[string]string {
	if r.data == nil {
		return nil
	}
	return r.data.defaultTags
}

// prepare opens the handler's driver and, when hash is set, packs its code and checks that the
// package is the one planned.
func (r *eventHandlerResource) prepare(ctx context.Context, c *driver.Cloud, h *spec.Handler, hash string) (driver.Driver, *driver.Code, diag.Diagnostics) {
	var diags diag.Diagnostics
	drv := r.openDriver(ctx, c, &diags)
	if drv == nil {
		return nil, nil, diags
	}
	if hash == "" {
		return drv, nil, diags
	}
	pkg, at, err := packSource(h)
	if err != nil {
		diags.AddAttributeError(at, "Packing the function's code", err.Error())
		return nil, nil, diags
	}
	if pkg.Hash != hash {
		diags.AddAttributeError(at, "Function code changed since plan",
			fmt.Sprintf("The code package hashes to %s, the plan to %s: the files changed between plan and apply. Plan again.", pkg.Hash, hash))
		return nil, nil, diags
	}
	return drv, &driver.Code{Zip: pkg.Zip, Hash: pkg.Hash}, diags
}

// openDriver opens the driver of cloud c, reporting a failure on the cloud attribute.
func (r *eventHandlerResource) openDriver(ctx context.Context, c *driver.Cloud, diags *diag.Diagnostics) driver.Driver {
	drv, err := r.data.driver(ctx, c)
	if err != nil {
		diags.AddAttributeError(path.Root("cloud"), "Opening the "+string(c.Name)+" driver",
			fmt.Sprintf("%v. Check the provider's %s block.", err, c.Name))
		return nil
	}
	return drv
}

func hasAnyComponent(c *driver.Cloud, st driver.State) bool {
	for _, comp := range c.Order() {
		if st.Has(comp) {
			return true
		}
	}
	return false
}

// componentMissing reports whether component c is absent from the components attribute (never
// made) or listed with an empty id (gone or drifted out of band).
func componentMissing(m types.Map, c driver.Component) bool {
	v, _ := m.Elements()[string(c)].(types.String)
	return v.ValueString() == ""
}

// stateFromComponents rebuilds a driver state from the components attribute, for a resource whose
// private state is gone.
func stateFromComponents(m types.Map) driver.State {
	st := driver.State{}
	for k, v := range stringMap(m) {
		if v != "" {
			st[k] = v
		}
	}
	return st
}

func outputsOf(m eventHandlerModel) driver.Outputs {
	return driver.Outputs{
		FunctionID: m.FunctionID.ValueString(), TriggerSourceID: m.TriggerSourceID.ValueString(),
		PublishTarget: m.PublishTarget.ValueString(), DeadLetterID: m.DeadLetterID.ValueString(),
		DedupTableID: m.DedupTableID.ValueString(), IdentityID: m.IdentityID.ValueString(),
	}
}

// userTags separates the user's tags from the observed ones: a tag equal to a provider default and
// not set on the resource before is the default's.
func userTags(observed, defaults, prior map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range observed {
		if _, was := prior[k]; !was && defaults[k] == v {
			continue
		}
		out[k] = v
	}
	if prior == nil && len(out) == 0 {
		return nil
	}
	return out
}
