package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// removed rejects a setting that moved elsewhere, saying where.
type removed string

var (
	_ validator.String = removed("")
	_ validator.Int64  = removed("")
	_ validator.Map    = removed("")
)

func (r removed) Description(context.Context) string             { return string(r) }
func (r removed) MarkdownDescription(ctx context.Context) string { return r.Description(ctx) }

func (r removed) check(p path.Path, null bool, diags *diag.Diagnostics) {
	if !null {
		diags.AddAttributeError(p, "Setting removed", fmt.Sprintf("%s: %s", p, string(r)))
	}
}

func (r removed) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	r.check(req.Path, req.ConfigValue.IsNull(), &resp.Diagnostics)
}

func (r removed) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	r.check(req.Path, req.ConfigValue.IsNull(), &resp.Diagnostics)
}

func (r removed) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	r.check(req.Path, req.ConfigValue.IsNull(), &resp.Diagnostics)
}

// duration checks a Go duration string, naming the attribute in the detail (OpenTofu shows a nested
// attribute's error on the resource's first line).
type duration struct{}

func (duration) Description(context.Context) string {
	return "must be a positive Go duration such as \"30s\" or \"10m\""
}
func (d duration) MarkdownDescription(ctx context.Context) string { return d.Description(ctx) }

func (d duration) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if v, err := time.ParseDuration(req.ConfigValue.ValueString()); err != nil || v <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%s %s, got %q.", req.Path, d.Description(ctx), strings.TrimSpace(req.ConfigValue.ValueString())))
	}
}

func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}
