package provider

import (
	"maps"
	"strings"
	"time"

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

// values reads a model into a spec.Handler, filling what is null with the cloud's defaults (the
// configuration seen by ValidateConfig and ModifyPlan has none applied) and recording which paths
// are unknown and which the configuration sets.
type values struct {
	unknown map[string]bool
	set     map[string]bool
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

// note records whether the value at path is unknown or set, and reports whether it is null.
func (v *values) note(val attr.Value, path []string) (null bool) {
	p := strings.Join(path, ".")
	switch {
	case val == nil || val.IsNull():
		return true
	case val.IsUnknown():
		v.unknown[p] = true
	default:
		v.set[p] = true
	}
	return false
}

func (v *values) str(attrs map[string]attr.Value, def string, path ...string) string {
	s, _ := attrs[path[len(path)-1]].(types.String)
	if v.note(s, path) {
		return def
	}
	return s.ValueString()
}

func (v *values) int(attrs map[string]attr.Value, def int64, path ...string) int64 {
	i, _ := attrs[path[len(path)-1]].(types.Int64)
	if v.note(i, path) {
		return def
	}
	return i.ValueInt64()
}

func (v *values) boolean(attrs map[string]attr.Value, def bool, path ...string) bool {
	b, _ := attrs[path[len(path)-1]].(types.Bool)
	if v.note(b, path) {
		return def
	}
	return b.ValueBool()
}

func (v *values) strMap(m attr.Value, path ...string) map[string]string {
	mv, _ := m.(types.Map)
	v.note(mv, path)
	if mv.IsUnknown() {
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

// filter reads trigger.filter: nil when null, partly known values marking the path unknown.
func (v *values) filter(m attr.Value, path ...string) map[string][]string {
	mv, _ := m.(types.Map)
	if v.note(mv, path) || mv.IsUnknown() {
		return nil
	}
	out := map[string][]string{}
	for k, e := range mv.Elements() {
		l, _ := e.(types.List)
		if l.IsUnknown() {
			v.unknown[strings.Join(path, ".")] = true
		}
		vals := []string{}
		for _, x := range l.Elements() {
			s, _ := x.(types.String)
			if s.IsUnknown() {
				v.unknown[strings.Join(path, ".")] = true
			}
			vals = append(vals, s.ValueString())
		}
		out[k] = vals
	}
	return out
}

// grants reads function.tables: nil when null; a table_id not known yet (a table created in the same
// apply) marks the path unknown.
func (v *values) grants(m attr.Value, path ...string) map[string]spec.TableGrant {
	mv, _ := m.(types.Map)
	if v.note(mv, path) || mv.IsUnknown() {
		return nil
	}
	out := map[string]spec.TableGrant{}
	for k, e := range mv.Elements() {
		o, _ := e.(types.Object)
		id, _ := o.Attributes()["table_id"].(types.String)
		access, _ := o.Attributes()["access"].(types.String)
		if o.IsUnknown() || id.IsUnknown() || access.IsUnknown() {
			v.unknown[strings.Join(path, ".")] = true
		}
		out[k] = spec.TableGrant{TableID: id.ValueString(), Access: spec.Access(access.ValueString())}
	}
	return out
}

// handler converts m to the neutral spec for cloud c, filling nulls from its defaults and deriving
// entry_point and visibility_timeout_s where they are null. Settings c lacks stay zero. defaultTags
// go under the handler's own tags.
func (m *eventHandlerModel) handler(c *driver.Cloud, defaultTags map[string]string) (*spec.Handler, *values) {
	v := &values{unknown: map[string]bool{}, set: map[string]bool{}}
	v.note(m.Name, []string{"name"})
	v.note(m.Cloud, []string{"cloud"})
	r := c.Rules
	d := r.Defaults
	// def is a setting's default on c, or zero where c lacks it.
	def := func(path string, x int64) int64 {
		if !r.Supports(path) {
			return 0
		}
		return x
	}
	fn := v.object(m.Function, "function")
	tr := v.object(m.Trigger, "trigger")
	arch := ""
	if r.Supports("function.architecture") {
		arch = d.Architecture
	}
	h := &spec.Handler{
		Name:  m.Name.ValueString(),
		Cloud: c.Name,
		Function: spec.Function{
			Runtime:           v.str(fn, "", "function", "runtime"),
			EntryPoint:        v.str(fn, "", "function", "entry_point"),
			SourceDir:         v.str(fn, "", "function", "source_dir"),
			SourceZip:         v.str(fn, "", "function", "source_zip"),
			SourceHash:        m.SourceHash.ValueString(),
			MemoryMB:          v.int(fn, d.MemoryMB, "function", "memory_mb"),
			TimeoutS:          v.int(fn, d.TimeoutS, "function", "timeout_s"),
			Architecture:      v.str(fn, arch, "function", "architecture"),
			Environment:       v.strMap(fn["environment"], "function", "environment"),
			SecretEnvironment: v.strMap(fn["secret_environment"], "function", "secret_environment"),
			MaxConcurrency:    v.int(fn, 0, "function", "max_concurrency"),
			LogRetentionDays:  v.int(fn, def("function.log_retention_days", d.LogRetentionDays), "function", "log_retention_days"),
			Tables:            v.grants(fn["tables"], "function", "tables"),
		},
		Trigger: spec.Trigger{
			Kind:         spec.TriggerKind(v.str(tr, string(spec.Queue), "trigger", "kind")),
			Source:       v.str(tr, "", "trigger", "source"),
			Paused:       !v.boolean(tr, true, "trigger", "enabled"),
			BatchSize:    v.int(tr, def("trigger.batch_size", d.BatchSize), "trigger", "batch_size"),
			BatchWindowS: v.int(tr, def("trigger.batch_window_s", d.BatchWindowS), "trigger", "batch_window_s"),
			Filter:       v.filter(tr["filter"], "trigger", "filter"),
		},
		Retry: spec.Retry{
			MaxAttempts: v.int(v.object(m.Retry, "retry"), d.MaxAttempts, "retry", "max_attempts"),
			MinBackoffS: v.int(m.Retry.Attributes(), def("retry.min_backoff_s", d.MinBackoffS), "retry", "min_backoff_s"),
		},
		DeadLetter: spec.DeadLetter{RetentionDays: v.int(v.object(m.DeadLetter, "dead_letter"), d.RetentionDays, "dead_letter", "retention_days")},
		Dedup:      spec.Dedup{TTLS: v.int(v.object(m.Dedup, "dedup"), d.DedupTTLS, "dedup", "ttl_s")},
		Tags:       maps.Clone(defaultTags),
	}
	if h.Tags == nil {
		h.Tags = map[string]string{}
	}
	maps.Copy(h.Tags, v.strMap(m.Tags, "tags"))

	if h.Function.EntryPoint == "" {
		if v.known("function", "runtime") && v.known("function", "entry_point") {
			h.Function.EntryPoint = r.Runtimes[h.Function.Runtime].EntryPoint
		} else {
			v.unknown["function.entry_point"] = true
		}
	}
	vis, _ := tr["visibility_timeout_s"].(types.Int64)
	switch {
	case !v.note(vis, []string{"trigger", "visibility_timeout_s"}):
		h.Trigger.VisibilityTimeoutS = vis.ValueInt64()
	case !v.known("function", "timeout_s") || !v.known("trigger", "batch_window_s"):
		v.unknown["trigger.visibility_timeout_s"] = true
	default:
		h.Trigger.VisibilityTimeoutS = r.VisibilityDefault(h.Function.TimeoutS, h.Trigger.BatchWindowS)
	}
	return h, v
}

// setHandler writes every setting of h into m: null where cloud c lacks the setting, and pending's
// value wherever it returns one (at plan, what the configuration holds for a value not known yet).
// Which variables are secret is the caller's choice: h.Function.SecretEnvironment holds them. Code
// locations are kept from m, since no cloud knows them.
func (m *eventHandlerModel) setHandler(h *spec.Handler, c *driver.Cloud, userTags map[string]string, pending func(path string, typ attr.Type) attr.Value) {
	fnAttrs := m.Function.Attributes()
	fn, tr := h.Function, h.Trigger
	i64 := func(path string, x int64) attr.Value {
		if v := pending(path, types.Int64Type); v != nil {
			return v
		}
		if !c.Rules.Supports(path) || (x == 0 && path == "function.max_concurrency") {
			return types.Int64Null()
		}
		return types.Int64Value(x)
	}
	str := func(path, x string) attr.Value {
		if v := pending(path, types.StringType); v != nil {
			return v
		}
		if !c.Rules.Supports(path) || (x == "" && path == "trigger.source") {
			return types.StringNull()
		}
		return types.StringValue(x)
	}
	boolean := func(path string, x bool) attr.Value {
		if v := pending(path, types.BoolType); v != nil {
			return v
		}
		return types.BoolValue(x)
	}
	mapType := types.MapType{ElemType: types.StringType}
	strMap := func(path string, x map[string]string) types.Map {
		if v, ok := pending(path, mapType).(types.Map); ok {
			return v
		}
		return mapValue(x)
	}
	orPending := func(path string, typ attr.Type, x attr.Value) attr.Value {
		if v := pending(path, typ); v != nil {
			return v
		}
		return x
	}
	m.Name = types.StringValue(h.Name)
	m.Cloud = types.StringValue(string(h.Cloud))
	m.Function = types.ObjectValueMust(functionAttrTypes, map[string]attr.Value{
		"runtime":            str("function.runtime", fn.Runtime),
		"entry_point":        str("function.entry_point", fn.EntryPoint),
		"source_dir":         stringOrNull(fnAttrs["source_dir"]),
		"source_zip":         stringOrNull(fnAttrs["source_zip"]),
		"memory_mb":          i64("function.memory_mb", fn.MemoryMB),
		"timeout_s":          i64("function.timeout_s", fn.TimeoutS),
		"architecture":       str("function.architecture", fn.Architecture),
		"environment":        strMap("function.environment", fn.Environment),
		"secret_environment": strMap("function.secret_environment", fn.SecretEnvironment),
		"max_concurrency":    i64("function.max_concurrency", fn.MaxConcurrency),
		"log_retention_days": i64("function.log_retention_days", fn.LogRetentionDays),
		"tables":             orPending("function.tables", tablesType, grantsValue(fn.Tables)),
	})
	m.Trigger = types.ObjectValueMust(triggerAttrTypes, map[string]attr.Value{
		"kind":                 str("trigger.kind", string(tr.Kind)),
		"source":               str("trigger.source", tr.Source),
		"enabled":              boolean("trigger.enabled", !tr.Paused),
		"batch_size":           i64("trigger.batch_size", tr.BatchSize),
		"batch_window_s":       i64("trigger.batch_window_s", tr.BatchWindowS),
		"visibility_timeout_s": i64("trigger.visibility_timeout_s", tr.VisibilityTimeoutS),
		"filter":               orPending("trigger.filter", filterType, filterValue(tr.Filter)),
	})
	m.Retry = types.ObjectValueMust(retryAttrTypes, map[string]attr.Value{
		"max_attempts": i64("retry.max_attempts", h.Retry.MaxAttempts), "min_backoff_s": i64("retry.min_backoff_s", h.Retry.MinBackoffS),
	})
	m.DeadLetter = types.ObjectValueMust(deadLetterAttrTypes, map[string]attr.Value{"retention_days": i64("dead_letter.retention_days", h.DeadLetter.RetentionDays)})
	m.Dedup = types.ObjectValueMust(dedupAttrTypes, map[string]attr.Value{"ttl_s": i64("dedup.ttl_s", h.Dedup.TTLS)})
	m.TagsAll = mapValue(h.Tags)
	if v, ok := pending("tags", mapType).(types.Map); ok {
		m.Tags, m.TagsAll = v, types.MapUnknown(types.StringType)
	} else if userTags == nil {
		m.Tags = types.MapNull(types.StringType)
	} else {
		m.Tags = mapValue(userTags)
	}
	m.SourceHash = types.StringValue(fn.SourceHash)
	if v, ok := pending("source_hash", types.StringType).(types.String); ok {
		m.SourceHash = v
	}
	m.Timeouts = m.timeoutsOr(c.Timeouts)
}

// pendingIn returns setHandler's pending at plan: for each path v does not know, the configuration's
// value when it sets one (partly unknown, which the plan must keep), else unknown.
func pendingIn(cfg *eventHandlerModel, v *values) func(path string, typ attr.Type) attr.Value {
	return func(p string, typ attr.Type) attr.Value {
		if v.known(strings.Split(p, ".")...) {
			return nil
		}
		if c := cfg.valueAt(p); c != nil && !c.IsNull() {
			return c
		}
		switch typ {
		case types.Int64Type:
			return types.Int64Unknown()
		case types.StringType:
			return types.StringUnknown()
		case types.BoolType:
			return types.BoolUnknown()
		}
		if m, ok := typ.(types.MapType); ok {
			return types.MapUnknown(m.ElemType)
		}
		return types.MapUnknown(types.StringType)
	}
}

// valueAt is the value at an attribute path of m, or nil.
func (m *eventHandlerModel) valueAt(p string) attr.Value {
	objects := map[string]types.Object{"function": m.Function, "trigger": m.Trigger, "retry": m.Retry, "dead_letter": m.DeadLetter, "dedup": m.Dedup}
	top, name, nested := strings.Cut(p, ".")
	if !nested {
		if top == "tags" {
			return m.Tags
		}
		return nil
	}
	o, ok := objects[top]
	if !ok || o.IsNull() || o.IsUnknown() {
		return nil
	}
	return o.Attributes()[name]
}

// known is setHandler's pending for a handler whose every value is known.
func known(string, attr.Type) attr.Value { return nil }

// timeoutsOr returns m's timeouts with the cloud's defaults where they are unset.
func (m *eventHandlerModel) timeoutsOr(t driver.Timeouts) types.Object {
	attrs := m.Timeouts.Attributes()
	val := func(op string, d time.Duration) attr.Value {
		s, ok := attrs[op].(types.String)
		if ok && !s.IsNull() {
			return s
		}
		return types.StringValue(d.String())
	}
	return types.ObjectValueMust(timeoutsAttrTypes, map[string]attr.Value{
		"create": val("create", t.Create), "update": val("update", t.Update), "delete": val("delete", t.Delete),
	})
}

// setOutputs writes the computed ids; c orders the components.
func (m *eventHandlerModel) setOutputs(c *driver.Cloud, id string, out driver.Outputs, st driver.State, stale []driver.Component) {
	m.ID = types.StringValue(id)
	m.FunctionID = types.StringValue(out.FunctionID)
	m.TriggerSourceID = types.StringValue(out.TriggerSourceID)
	m.PublishTarget = types.StringValue(out.PublishTarget)
	m.DeadLetterID = types.StringValue(out.DeadLetterID)
	m.DedupTableID = types.StringValue(out.DedupTableID)
	m.IdentityID = types.StringValue(out.IdentityID)
	comps := map[string]string{}
	for _, comp := range c.Order() {
		if st.Has(comp) {
			comps[string(comp)] = st.Get(comp)
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

// timeout is how long op may take: the resource's setting, else the cloud's default.
func (m *eventHandlerModel) timeout(op string, c *driver.Cloud) time.Duration {
	s, _ := m.timeoutsOr(c.Timeouts).Attributes()[op].(types.String)
	if d, err := time.ParseDuration(s.ValueString()); err == nil && d > 0 {
		return d
	}
	return map[string]time.Duration{"create": c.Timeouts.Create, "update": c.Timeouts.Update, "delete": c.Timeouts.Delete}[op]
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

// filterValue is trigger.filter's value: null for none.
func filterValue(f map[string][]string) types.Map {
	if f == nil {
		return types.MapNull(filterType.ElemType)
	}
	elems := make(map[string]attr.Value, len(f))
	for k, vs := range f {
		l := make([]attr.Value, len(vs))
		for i, x := range vs {
			l[i] = types.StringValue(x)
		}
		elems[k] = types.ListValueMust(types.StringType, l)
	}
	return types.MapValueMust(filterType.ElemType, elems)
}

// grantsValue is function.tables' value: null for none.
func grantsValue(gs map[string]spec.TableGrant) types.Map {
	if gs == nil {
		return types.MapNull(tablesType.ElemType)
	}
	elems := make(map[string]attr.Value, len(gs))
	for k, g := range gs {
		elems[k] = types.ObjectValueMust(grantAttrTypes, map[string]attr.Value{"table_id": types.StringValue(g.TableID), "access": types.StringValue(string(g.Access))})
	}
	return types.MapValueMust(tablesType.ElemType, elems)
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
