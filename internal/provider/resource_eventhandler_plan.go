package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/pack"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// ValidateConfig checks every limit of the handler's cloud, so that bad input fails at plan on the
// attribute to change rather than at apply (emulators accept almost anything; clouds do not).
func (r *eventHandlerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg eventHandlerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || cfg.Cloud.IsUnknown() || cfg.Cloud.IsNull() {
		return
	}
	c, err := r.clouds.lookup(spec.Cloud(cfg.Cloud.ValueString()))
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("cloud"), "Unsupported cloud", err.Error()+".")
		return
	}
	h, conv := cfg.handler(c, nil)
	for _, p := range slices.Sorted(maps.Keys(c.Rules.Unsupported)) {
		if conv.set[p] {
			resp.Diagnostics.AddAttributeError(attrPath(strings.Split(p, ".")), "Setting not available on "+string(c.Name),
				fmt.Sprintf("%s cannot be set on %s: %s. Remove it.", p, c.Name, c.Rules.Unsupported[p]))
		}
	}
	resp.Diagnostics.Append(problemDiags(spec.Validate(h, c.Rules, conv.known))...)
}

// ModifyPlan fills what depends on the cloud, on other attributes or on files: the cloud's defaults,
// the derived settings, the code's hash, tags_all, and the ids a change makes unknown.
func (r *eventHandlerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var cfg, plan eventHandlerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || cfg.Cloud.IsUnknown() {
		return
	}
	c, err := r.clouds.lookup(spec.Cloud(cfg.Cloud.ValueString()))
	if err != nil {
		return // ValidateConfig said so
	}
	defaultTags := r.defaultTags()
	// The configuration, with its nulls filled from the cloud's defaults, is the desired handler.
	h, conv := cfg.handler(c, defaultTags)
	resp.Diagnostics.Append(problemDiags(spec.CheckTagMap(defaultTags, c.Name, c.Rules, "default_tags"))...)
	if conv.known("function", "source_dir") && conv.known("function", "source_zip") {
		h.Function.SourceHash = ""
		if pkg, at, err := packSource(h); err != nil {
			resp.Diagnostics.AddAttributeError(at, "Packing the function's code", err.Error())
		} else {
			h.Function.SourceHash = pkg.Hash
			resp.Diagnostics.Append(packageDiags(c, pkg, at)...)
		}
	} else {
		conv.unknown["source_hash"] = true
	}
	plan.setHandler(h, c, cfg.userTags(), pendingIn(&cfg, conv))
	allKnown := conv.allKnown()
	if allKnown && r.data != nil {
		if drv := r.openDriver(ctx, c, &resp.Diagnostics); drv != nil {
			resp.Diagnostics.Append(problemDiags(drv.Check(ctx, h))...)
		}
	}

	if req.State.Raw.IsNull() {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	var state eventHandlerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior, _ := state.handler(c, defaultTags)
	// A component the cloud replaces, one deleted out of band (listed with an empty id) or one never
	// made (an import of what a killed apply left) changes component ids: show them as known after
	// apply. Otherwise every id stays what it is.
	rebuild := !allKnown
	if allKnown {
		change := c.Plan(prior, h)
		resp.Diagnostics.Append(problemDiags(change.Warnings)...)
		rebuild = len(change.Replace) > 0
	}
	for _, v := range state.Components.Elements() {
		if s, _ := v.(types.String); s.ValueString() == "" {
			rebuild = true // gone or drifted, whether still needed or not: its entry changes
		}
	}
	for _, comp := range c.Needs(h) {
		if componentMissing(state.Components, comp) {
			rebuild = true
		}
	}
	ids := []*types.String{&plan.FunctionID, &plan.TriggerSourceID, &plan.PublishTarget, &plan.DeadLetterID, &plan.DedupTableID, &plan.IdentityID}
	from := []types.String{state.FunctionID, state.TriggerSourceID, state.PublishTarget, state.DeadLetterID, state.DedupTableID, state.IdentityID}
	for i, id := range ids {
		if rebuild {
			*id = types.StringUnknown()
		} else {
			*id = from[i]
		}
	}
	if rebuild {
		plan.Components = types.MapUnknown(types.StringType)
	} else {
		plan.Components = state.Components
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// packSource packs the handler's code and returns the attribute it came from, for diagnostics. Its
// errors name that attribute: OpenTofu shows a nested attribute's error on the resource's first line.
func packSource(h *spec.Handler) (*pack.Package, path.Path, error) {
	attr, src, packer := "source_dir", h.Function.SourceDir, pack.Dir
	if h.Function.SourceZip != "" {
		attr, src, packer = "source_zip", h.Function.SourceZip, pack.Zip
	}
	at := path.Root("function").AtName(attr)
	if src == "" {
		return nil, at, errors.New("set one of function.source_dir (a directory to zip) and function.source_zip (a zip file)")
	}
	p, err := packer(src)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, at, fmt.Errorf("function.%s %q does not exist. Paths are relative to the directory tofu runs in: use \"${path.module}/...\" for a module's own files", attr, src)
	case err != nil:
		return nil, at, fmt.Errorf("function.%s %q: %v", attr, src, err)
	}
	return p, at, nil
}

func packageDiags(c *driver.Cloud, p *pack.Package, at path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	l := c.Rules
	if int64(len(p.Zip)) > l.ZipBytes {
		diags.AddAttributeError(at, "Code package too large",
			fmt.Sprintf("%s: the zipped code is %d bytes; %s allows at most %d bytes (%d MB). %s", at, len(p.Zip), c.Name, l.ZipBytes, l.ZipBytes>>20, l.ZipAdvice))
	}
	if p.UnzippedBytes > l.UnzippedBytes {
		diags.AddAttributeError(at, "Code package too large",
			fmt.Sprintf("%s: the code is %d bytes unzipped; %s allows at most %d bytes (%d MB). %s", at, p.UnzippedBytes, c.Name, l.UnzippedBytes, l.UnzippedBytes>>20, l.ZipAdvice))
	}
	return diags
}

// attrPath is the framework's path of an attribute path.
func attrPath(names []string) path.Path {
	at := path.Root(names[0])
	for _, name := range names[1:] {
		at = at.AtName(name)
	}
	return at
}

func problemDiags(ps []spec.Problem) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, p := range ps {
		at := attrPath(p.Path)
		if p.Key != "" {
			at = at.AtMapKey(p.Key)
		}
		if p.Warning {
			diags.AddAttributeWarning(at, p.Summary, p.Detail)
		} else {
			diags.AddAttributeError(at, p.Summary, p.Detail)
		}
	}
	return diags
}

// errorDiags turns a driver error into diagnostics, one per component that failed (components are
// worked on concurrently, so several can fail at once). Each summary names the component as cloud c
// calls it; each detail says what to do, then what the cloud said.
func errorDiags(c *driver.Cloud, err error, advice string) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, e := range leaves(err) {
		summary, cause, detail := "Event handler operation failed", e.Error(), advice
		var de *driver.Error
		if errors.As(e, &de) {
			summary = de.Action + " " + c.Display(de.Component)
			if de.ID != "" {
				summary += " (" + de.ID + ")"
			}
			summary = capitalise(summary)
			cause = de.Err.Error()
			if de.Code == driver.AlreadyExists {
				detail = strings.TrimSpace(alreadyExists + " " + advice)
			}
		}
		if detail != "" {
			cause = detail + "\n\n" + cause
		}
		diags.AddError(summary, cause)
	}
	return diags
}

const alreadyExists = "A component of that name exists already and this handler's state does not hold it: it was " +
	"made by hand, by another Terraform state, or by an apply that was interrupted before it could record it. If it " +
	"is this handler's, import the handler (see the Import section of the resource's docs) instead of creating it; " +
	"otherwise delete it or give the handler another name."

// leaves flattens errors.Join trees into the errors they hold.
func leaves(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, leaves(e)...)
	}
	return out
}

func capitalise(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// privateKey holds the driver's state of the handler in the resource's private state.
const privateKey = "driver_state"

type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func getPrivate(ctx context.Context, p privateState) (driver.State, diag.Diagnostics) {
	b, diags := p.GetKey(ctx, privateKey)
	if diags.HasError() || len(b) == 0 {
		return nil, diags
	}
	var st driver.State
	if err := json.Unmarshal(b, &st); err != nil {
		diags.AddError("Reading private state", fmt.Sprintf("The provider's private state of this resource is not valid JSON: %v. Please report this issue to the provider developers.", err))
	}
	return st, diags
}

func setPrivate(ctx context.Context, p privateState, st driver.State) diag.Diagnostics {
	b, err := json.Marshal(st)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Writing private state", err.Error())
		return diags
	}
	return p.SetKey(ctx, privateKey, b)
}
