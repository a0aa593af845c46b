package provider

import (
	"maps"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

type eventHandlerModel struct {
	ID              types.String `tfsdk:"id"`
	Name            types.String `tfsdk:"name"`
	Cloud           types.String `tfsdk:"cloud"`
	Function        types.Object `tfsdk:"function"`
	Trigger         types.Object `tfsdk:"trigger"`
	Retry           types.Object `tfsdk:"retry"`
	DeadLetter      types.Object `tfsdk:"dead_letter"`
	Dedup           types.Object `tfsdk:"dedup"`
	Tags            types.Map    `tfsdk:"tags"`
	TagsAll         types.Map    `tfsdk:"tags_all"`
	Timeouts        types.Object `tfsdk:"timeouts"`
	SourceHash      types.String `tfsdk:"source_hash"`
	FunctionID      types.String `tfsdk:"function_id"`
	TriggerSourceID types.String `tfsdk:"trigger_source_id"`
	PublishTarget   types.String `tfsdk:"publish_target"`
	DeadLetterID    types.String `tfsdk:"dead_letter_id"`
	DedupTableID    types.String `tfsdk:"dedup_table_id"`
	IdentityID      types.String `tfsdk:"identity_id"`
	Components      types.Map    `tfsdk:"components"`
}

// values reads a model into a spec.Handler, filling what is null with the schema's defaults (the
// configuration seen by ValidateConfig has none applied yet) and recording what is unknown.
type values struct {
	unknown map[string]bool
}

func (v *values) known(path ...string) bool {
	for i := range path {
		if v.unknown[strings.Join(path[:i+1], ".")] {
			return false
		}
	}
	return true
}

// allKnown reports whether every value read so far was known.
func (v *values) allKnown() bool { return len(v.unknown) == 0 }

func (v *values) object(o types.Object, name string) map[string]attr.Value {
	if o.IsUnknown() {
		v.unknown[name] = true
	}
	return o.Attributes()
}

func (v *values) str(attrs map[string]attr.Value, path ...string) string {
	s, _ := attrs[path[len(path)-1]].(types.String)
	if s.IsUnknown() {
		v.unknown[strings.Join(path, ".")] = true
	}
	return s.ValueString()
}

func (v *values) int(attrs map[string]attr.Value, def int64, path ...string) int64 {
	i, _ := attrs[path[len(path)-1]].(types.Int64)
	switch {
	case i.IsUnknown():
		v.unknown[strings.Join(path, ".")] = true
	case i.IsNull():
		return def
	}
	return i.ValueInt64()
}

func (v *values) strMap(m attr.Value, path ...string) map[string]string {
	mv, _ := m.(types.Map)
	if mv.IsUnknown() {
		v.unknown[strings.Join(path, ".")] = true
		return nil
	}
	out := map[string]string{}
	for k, e := range mv.Elements() {
		s, _ := e.(types.String)
		if s.IsUnknown() {
			v.unknown[strings.Join(path, ".")] = true
		}
		out[k] = s.ValueString()
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// handler converts m to the neutral spec, deriving entry_point and visibility_timeout_s where they
// are null. defaultTags go under the handler's own tags.
func (m *eventHandlerModel) handler(defaultTags map[string]string) (*spec.Handler, *values) {
	v := &values{unknown: map[string]bool{}}
	if m.Name.IsUnknown() {
		v.unknown["name"] = true
	}
	if m.Cloud.IsUnknown() {
		v.unknown["cloud"] = true
	}
	fn := v.object(m.Function, "function")
	tr := v.object(m.Trigger, "trigger")
	h := &spec.Handler{
		Name:  m.Name.ValueString(),
		Cloud: spec.Cloud(m.Cloud.ValueString()),
		Function: spec.Function{
			Runtime:           v.str(fn, "function", "runtime"),
			EntryPoint:        v.str(fn, "function", "entry_point"),
			SourceDir:         v.str(fn, "function", "source_dir"),
			SourceZip:         v.str(fn, "function", "source_zip"),
			SourceHash:        m.SourceHash.ValueString(),
			MemoryMB:          v.int(fn, spec.DefaultMemoryMB, "function", "memory_mb"),
			TimeoutS:          v.int(fn, spec.DefaultTimeoutS, "function", "timeout_s"),
			Architecture:      orDefault(v.str(fn, "function", "architecture"), spec.DefaultArchitecture),
			Environment:       v.strMap(fn["environment"], "function", "environment"),
			SecretEnvironment: v.strMap(fn["secret_environment"], "function", "secret_environment"),
			MaxConcurrency:    v.int(fn, 0, "function", "max_concurrency"),
			LogRetentionDays:  v.int(fn, spec.DefaultLogRetentionDays, "function", "log_retention_days"),
		},
		Trigger: spec.Trigger{
			Kind:         spec.TriggerKind(orDefault(v.str(tr, "trigger", "kind"), string(spec.Queue))),
			Source:       v.str(tr, "trigger", "source"),
			BatchSize:    v.int(tr, spec.DefaultBatchSize, "trigger", "batch_size"),
			BatchWindowS: v.int(tr, spec.DefaultBatchWindowS, "trigger", "batch_window_s"),
		},
		Retry:      spec.Retry{MaxAttempts: v.int(v.object(m.Retry, "retry"), spec.DefaultMaxAttempts, "retry", "max_attempts")},
		DeadLetter: spec.DeadLetter{RetentionDays: v.int(v.object(m.DeadLetter, "dead_letter"), spec.DefaultRetentionDays, "dead_letter", "retention_days")},
		Dedup:      spec.Dedup{TTLS: v.int(v.object(m.Dedup, "dedup"), spec.DefaultDedupTTLS, "dedup", "ttl_s")},
		Tags:       maps.Clone(defaultTags),
	}
	if h.Tags == nil {
		h.Tags = map[string]string{}
	}
	maps.Copy(h.Tags, v.strMap(m.Tags, "tags"))

	limits, _ := spec.LimitsFor(h.Cloud)
	if h.Function.EntryPoint == "" && v.known("function", "runtime") {
		h.Function.EntryPoint = limits.Runtimes[h.Function.Runtime].EntryPoint
	}
	vis, _ := tr["visibility_timeout_s"].(types.Int64)
	switch {
	case vis.IsUnknown():
		v.unknown["trigger.visibility_timeout_s"] = true
	case !vis.IsNull():
		h.Trigger.VisibilityTimeoutS = vis.ValueInt64()
	case !v.known("function", "timeout_s") || !v.known("trigger", "batch_window_s"):
		v.unknown["trigger.visibility_timeout_s"] = true
	default:
		h.Trigger.VisibilityTimeoutS = limits.VisibilityDefault(h.Function.TimeoutS, h.Trigger.BatchWindowS)
	}
	return h, v
}

// setHandler writes every setting of h into m. Which variables are secret is the caller's choice:
// h.Function.SecretEnvironment holds them. Code locations are kept from m, since no cloud knows them.
func (m *eventHandlerModel) setHandler(h *spec.Handler, userTags map[string]string) {
	fnAttrs := m.Function.Attributes()
	fn := h.Function
	maxConc := types.Int64Null()
	if fn.MaxConcurrency != 0 {
		maxConc = types.Int64Value(fn.MaxConcurrency)
	}
	m.Name = types.StringValue(h.Name)
	m.Cloud = types.StringValue(string(h.Cloud))
	m.Function = types.ObjectValueMust(functionAttrTypes, map[string]attr.Value{
		"runtime":            types.StringValue(fn.Runtime),
		"entry_point":        types.StringValue(fn.EntryPoint),
		"source_dir":         stringOrNull(fnAttrs["source_dir"]),
		"source_zip":         stringOrNull(fnAttrs["source_zip"]),
		"memory_mb":          types.Int64Value(fn.MemoryMB),
		"timeout_s":          types.Int64Value(fn.TimeoutS),
		"architecture":       types.StringValue(fn.Architecture),
		"environment":        mapValue(fn.Environment),
		"secret_environment": mapValue(fn.SecretEnvironment),
		"max_concurrency":    maxConc,
		"log_retention_days": types.Int64Value(fn.LogRetentionDays),
	})
	source := types.StringNull()
	if h.Trigger.Source != "" {
		source = types.StringValue(h.Trigger.Source)
	}
	m.Trigger = types.ObjectValueMust(triggerAttrTypes, map[string]attr.Value{
		"kind":                 types.StringValue(string(h.Trigger.Kind)),
		"source":               source,
		"batch_size":           types.Int64Value(h.Trigger.BatchSize),
		"batch_window_s":       types.Int64Value(h.Trigger.BatchWindowS),
		"visibility_timeout_s": types.Int64Value(h.Trigger.VisibilityTimeoutS),
	})
	m.Retry = types.ObjectValueMust(retryAttrTypes, map[string]attr.Value{"max_attempts": types.Int64Value(h.Retry.MaxAttempts)})
	m.DeadLetter = types.ObjectValueMust(deadLetterAttrTypes, map[string]attr.Value{"retention_days": types.Int64Value(h.DeadLetter.RetentionDays)})
	m.Dedup = types.ObjectValueMust(dedupAttrTypes, map[string]attr.Value{"ttl_s": types.Int64Value(h.Dedup.TTLS)})
	m.TagsAll = mapValue(h.Tags)
	if userTags == nil {
		m.Tags = types.MapNull(types.StringType)
	} else {
		m.Tags = mapValue(userTags)
	}
	m.SourceHash = types.StringValue(fn.SourceHash)
	if m.Timeouts.IsNull() || m.Timeouts.IsUnknown() {
		m.Timeouts = defaultTimeouts
	}
}

// setOutputs writes the computed ids.
func (m *eventHandlerModel) setOutputs(id string, out driver.Outputs, st driver.State, stale []driver.Component) {
	m.ID = types.StringValue(id)
	m.FunctionID = types.StringValue(out.FunctionID)
	m.TriggerSourceID = types.StringValue(out.TriggerSourceID)
	m.PublishTarget = types.StringValue(out.PublishTarget)
	m.DeadLetterID = types.StringValue(out.DeadLetterID)
	m.DedupTableID = types.StringValue(out.DedupTableID)
	m.IdentityID = types.StringValue(out.IdentityID)
	comps := map[string]string{}
	for _, c := range driver.Components {
		if st.Has(c) {
			comps[string(c)] = st.Get(c)
		}
	}
	// A component gone or drifted out of band is listed with an empty id, so the plan shows it being
	// recreated or put right.
	for _, c := range stale {
		comps[string(c)] = ""
	}
	m.Components = mapValue(comps)
}

// userTags returns the tags the user set on the resource, or nil when the attribute is null.
func (m *eventHandlerModel) userTags() map[string]string {
	if m.Tags.IsNull() {
		return nil
	}
	return stringMap(m.Tags)
}

// secretKeys returns the keys of function.secret_environment.
func (m *eventHandlerModel) secretKeys() map[string]bool {
	keys := map[string]bool{}
	if sec, ok := m.Function.Attributes()["secret_environment"].(types.Map); ok {
		for k := range sec.Elements() {
			keys[k] = true
		}
	}
	return keys
}

func (m *eventHandlerModel) timeout(op string) string {
	s, _ := m.Timeouts.Attributes()[op].(types.String)
	return orDefault(s.ValueString(), defaultTimeout)
}

func stringOrNull(v attr.Value) types.String {
	s, _ := v.(types.String)
	if s.IsUnknown() || s.ValueString() == "" {
		return types.StringNull()
	}
	return s
}

func mapValue(m map[string]string) types.Map {
	elems := make(map[string]attr.Value, len(m))
	for k, v := range m {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}

// splitSecrets moves the variables whose keys were secret before from env into a map of their own.
func splitSecrets(env map[string]string, secret map[string]bool) (plain, secrets map[string]string) {
	plain, secrets = map[string]string{}, map[string]string{}
	for k, v := range env {
		if secret[k] {
			secrets[k] = v
		} else {
			plain[k] = v
		}
	}
	return plain, secrets
}
