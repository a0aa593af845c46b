package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

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

// NewEventHandlerResource returns the threefactor_eventhandler resource.
func NewEventHandlerResource() resource.Resource {
	return &eventHandlerResource{}
}

type eventHandlerResource struct {
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
	h, _ := plan.handler(r.data.defaultTags)
	drv, code, diags := r.prepare(ctx, h, plan.SourceHash.ValueString())
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.timeout("create"))
	defer cancel()

	st, out, err := drv.Apply(ctx, h, code, nil)
	if err != nil {
		// Roll back so that a failed create leaves nothing Terraform does not know about.
		left, rerr := drv.Delete(context.WithoutCancel(ctx), st)
		if rerr == nil {
			resp.Diagnostics.Append(errorDiags(err, "Nothing was left behind: every component this apply created was deleted again. Fix the cause and apply again.")...)
			return
		}
		resp.Diagnostics.Append(errorDiags(err, "Fix the cause and apply again.")...)
		resp.Diagnostics.Append(errorDiags(rerr, "Rolling back the failed create left the components listed in `components`; they are recorded in state, so the next apply deletes or reuses them.")...)
		plan.setOutputs(drv.ImportID(h.Name), driver.Outputs{}, left, nil)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		resp.Diagnostics.Append(setPrivate(ctx, resp.Private, left)...)
		return
	}
	plan.setOutputs(drv.ImportID(h.Name), out, st, nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(setPrivate(ctx, resp.Private, st)...)
}

func (r *eventHandlerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state eventHandlerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior, _ := state.handler(r.data.defaultTags)
	drv := r.openDriver(ctx, prior.Cloud, &resp.Diagnostics)
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
			resp.Diagnostics.Append(errorDiags(err, "")...)
			return
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	obs, err := drv.Read(ctx, st)
	if err != nil {
		resp.Diagnostics.Append(errorDiags(err, "")...)
		return
	}
	if !hasAnyComponent(obs.State) {
		resp.Diagnostics.AddWarning("Event handler deleted outside Terraform",
			fmt.Sprintf("None of the components of handler %q exist any more; it is removed from state and the next apply creates it again.", prior.Name))
		resp.State.RemoveResource(ctx)
		return
	}
	h := obs.Settled(prior)
	if !slices.Contains(obs.Missing, driver.Function) {
		h.Function.Environment, h.Function.SecretEnvironment = splitSecrets(obs.Handler.Function.Environment, state.secretKeys())
	}
	state.setHandler(&h, userTags(h.Tags, r.data.defaultTags, state.userTags()))
	// Drifted components keep their ids in private state, so the update puts them right in place.
	state.setOutputs(drv.ImportID(h.Name), obs.Outputs, obs.State, append(obs.Missing, obs.Drifted...))
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
	h, _ := plan.handler(r.data.defaultTags)
	// Upload code only when the function needs it: new code, a new architecture (Lambda takes one only
	// with code), or a function to recreate.
	prior, _ := state.handler(r.data.defaultTags)
	wantHash := ""
	if h.Function.SourceHash != prior.Function.SourceHash || h.Function.Architecture != prior.Function.Architecture ||
		componentMissing(state.Components, driver.Function) {
		wantHash = h.Function.SourceHash
	}
	drv, code, diags := r.prepare(ctx, h, wantHash)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.timeout("update"))
	defer cancel()

	st, out, err := drv.Apply(ctx, h, code, st)
	resp.Diagnostics.Append(setPrivate(ctx, resp.Private, st)...)
	if err != nil {
		// Keep the prior settings, so the next plan shows the change again, but record every component
		// that exists now.
		state.setOutputs(state.ID.ValueString(), outputsOf(state), st, nil)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		resp.Diagnostics.Append(errorDiags(err, "The components updated before the failure keep their new settings; apply again to converge.")...)
		return
	}
	plan.setOutputs(drv.ImportID(h.Name), out, st, nil)
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
	drv := r.openDriver(ctx, spec.Cloud(state.Cloud.ValueString()), &resp.Diagnostics)
	if drv == nil {
		return
	}
	if st == nil {
		st = stateFromComponents(state.Components)
	}
	ctx, cancel := withTimeout(ctx, state.timeout("delete"))
	defer cancel()
	if left, err := drv.Delete(ctx, st); err != nil {
		resp.Diagnostics.Append(setPrivate(ctx, resp.Private, left)...)
		resp.Diagnostics.Append(errorDiags(err, "The components deleted before the failure stay deleted; apply or destroy again to finish.")...)
	}
}

func (r *eventHandlerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	if len(parts) < 2 {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("Expected <cloud>/<region>/<name> (for example aws/us-east-1/order-placed), got %q.", req.ID))
		return
	}
	c, name := spec.Cloud(parts[0]), parts[len(parts)-1]
	drv, err := r.data.driver(ctx, c)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("Cloud %q of import id %q: %v.", c, req.ID, err))
		return
	}
	if want := drv.ImportID(name); want != req.ID {
		resp.Diagnostics.AddError("Invalid import id",
			fmt.Sprintf("This provider's %s settings import handler %q as %q, got %q: check the region.", c, name, want, req.ID))
		return
	}
	st, err := drv.Locate(ctx, name)
	if err != nil {
		resp.Diagnostics.Append(errorDiags(err, "Check the handler's name and the provider's region.")...)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("cloud"), string(c))...)
	resp.Diagnostics.Append(setPrivate(ctx, resp.Private, st)...)
}

// prepare opens the handler's driver and, when hash is set, packs its code and checks that the
// package is the one planned.
func (r *eventHandlerResource) prepare(ctx context.Context, h *spec.Handler, hash string) (driver.Driver, *driver.Code, diag.Diagnostics) {
	var diags diag.Diagnostics
	drv := r.openDriver(ctx, h.Cloud, &diags)
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
func (r *eventHandlerResource) openDriver(ctx context.Context, c spec.Cloud, diags *diag.Diagnostics) driver.Driver {
	drv, err := r.data.driver(ctx, c)
	if err != nil {
		diags.AddAttributeError(path.Root("cloud"), "Opening the "+string(c)+" driver", err.Error())
		return nil
	}
	return drv
}

func withTimeout(ctx context.Context, s string) (context.Context, context.CancelFunc) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		d, _ = time.ParseDuration(defaultTimeout)
	}
	return context.WithTimeout(ctx, d)
}

func hasAnyComponent(st driver.State) bool {
	for _, c := range driver.Components {
		if st.Has(c) {
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
