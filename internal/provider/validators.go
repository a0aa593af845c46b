package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// notPrefixed rejects strings with a reserved prefix (tag keys the provider sets itself).
type notPrefixed string

var _ validator.String = notPrefixed("")

func (p notPrefixed) Description(context.Context) string {
	return fmt.Sprintf("must not start with %q, which is reserved for the provider", string(p))
}

func (p notPrefixed) MarkdownDescription(ctx context.Context) string { return p.Description(ctx) }

func (p notPrefixed) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if v := req.ConfigValue.ValueString(); strings.HasPrefix(v, string(p)) {
		resp.Diagnostics.AddAttributeError(req.Path, "Reserved tag key",
			fmt.Sprintf("Tag key %q %s.", v, p.Description(ctx)))
	}
}

func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}
