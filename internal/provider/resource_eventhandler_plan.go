package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	if resp.Diagnostics.HasError() {
		return
	}
	h, conv := cfg.handler(nil)
	resp.Diagnostics.Append(problemDiags(spec.Validate(h, conv.known))...)
}

// ModifyPlan fills what depends on other attributes or on files: the derived defaults, the code's
// hash, tags_all, and the ids a change makes unknown.
func (r *eventHandlerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var cfg, plan eventHandlerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// The configuration, with its nulls filled, is the desired handler; the plan only adds the
	// framework's defaults, which the conversion applies too.
	h, conv := cfg.handler(r.data.defaultTags)
	allKnown := conv.allKnown()
	if allKnown {
		h.Function.SourceHash = ""
		if pkg, at, err := packSource(h); err != nil {
			resp.Diagnostics.AddAttributeError(at, "Packing the function's code", err.Error())
		} else {
			h.Function.SourceHash = pkg.Hash
			resp.Diagnostics.Append(packageDiags(h, pkg, at)...)
		}
		plan.setHandler(h, cfg.userTags())
		if drv := r.openDriver(ctx, h.Cloud, &resp.Diagnostics); drv != nil {
			resp.Diagnostics.Append(problemDiags(drv.Check(ctx, h))...)
		}
	} else {
		// Leave what is unknown to the framework; derive only what can be derived.
		plan.SourceHash = types.StringUnknown()
		plan.TagsAll = types.MapUnknown(types.StringType)
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
	prior, _ := state.handler(r.data.defaultTags)
	// A component deleted out of band (listed with an empty id), one never made (an import of what a
	// killed apply left), or a trigger swap changes component ids: show them as known after apply.
	// Otherwise every id stays what it is.
	rebuild := !allKnown || h.Trigger.Kind != prior.Trigger.Kind || h.Trigger.Source != prior.Trigger.Source
	for _, v := range state.Components.Elements() {
		if s, _ := v.(types.String); s.ValueString() == "" {
			rebuild = true // gone or drifted, whether still needed or not: its entry changes
		}
	}
	for _, c := range driver.Needs(h) {
		if componentMissing(state.Components, c) {
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

// packSource packs the handler's code and returns the attribute it came from, for diagnostics.
func packSource(h *spec.Handler) (*pack.Package, path.Path, error) {
	if h.Function.SourceZip != "" {
		at := path.Root("function").AtName("source_zip")
		p, err := pack.Zip(h.Function.SourceZip)
		return p, at, err
	}
	at := path.Root("function").AtName("source_dir")
	if h.Function.SourceDir == "" {
		return nil, at, errors.New("set one of function.source_dir and function.source_zip")
	}
	p, err := pack.Dir(h.Function.SourceDir)
	return p, at, err
}

func packageDiags(h *spec.Handler, p *pack.Package, at path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	l, ok := spec.LimitsFor(h.Cloud)
	if !ok {
		return diags
	}
	if int64(len(p.Zip)) > l.ZipBytes {
		diags.AddAttributeError(at, "Code package too large",
			fmt.Sprintf("The zipped code is %d bytes; %s allows at most %d bytes (%d MB). Ship large dependencies in a layer or an image.", len(p.Zip), h.Cloud, l.ZipBytes, l.ZipBytes>>20))
	}
	if p.UnzippedBytes > l.UnzippedBytes {
		diags.AddAttributeError(at, "Code package too large",
			fmt.Sprintf("The code is %d bytes unzipped; %s allows at most %d bytes (%d MB).", p.UnzippedBytes, h.Cloud, l.UnzippedBytes, l.UnzippedBytes>>20))
	}
	return diags
}

func problemDiags(ps []spec.Problem) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, p := range ps {
		at := path.Root(p.Path[0])
		for _, name := range p.Path[1:] {
			at = at.AtName(name)
		}
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
// worked on concurrently, so several can fail at once). Each summary names the component; each
// detail says what to do, then what the cloud said.
func errorDiags(err error, advice string) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, e := range leaves(err) {
		summary, cause, detail := "Event handler operation failed", e.Error(), advice
		var de *driver.Error
		if errors.As(e, &de) {
			summary = de.Action + " " + driver.DisplayName(de.Component)
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
