package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Problem is one reason a handler cannot be realised, located on the attribute the user must change.
type Problem struct {
	// Path is the attribute path from the resource root, such as {"function", "memory_mb"}.
	Path []string
	// Key is set when the problem is one entry of the map at Path.
	Key     string
	Warning bool
	Summary string
	Detail  string
}

func (p Problem) String() string {
	at := strings.Join(p.Path, ".")
	if p.Key != "" {
		at += "[" + p.Key + "]"
	}
	return at + ": " + p.Summary + ": " + p.Detail
}

// Known reports whether the value at an attribute path is known; Validate skips every rule that reads
// an unknown value, since plan-time values may come from resources not yet created.
type Known func(path ...string) bool

// AllKnown is the Known of a handler built in full, as in tests and imports.
func AllKnown(...string) bool { return true }

var (
	nameRE   = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	envKeyRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]+$`)
)

// Validate checks h against its cloud's rules and the invariants between settings. Defaults must have
// been applied. Settings the cloud lacks are not checked here: the provider rejects them when set.
func Validate(h *Handler, r *Rules, known Known) []Problem {
	var ps []Problem
	add := func(path []string, summary, detail string, args ...any) {
		ps = append(ps, Problem{Path: path, Summary: summary, Detail: fmt.Sprintf(detail, args...)})
	}
	// check reports whether a rule on path applies: the value is known and the cloud has the setting.
	check := func(path ...string) bool { return known(path...) && r.Supports(strings.Join(path, ".")) }
	if known("name") {
		if msg := checkName(h.Name, max(r.NameMinLen, 2), r.NameMaxLen); msg != "" {
			add([]string{"name"}, "Invalid handler name", "%s", msg)
		}
	}
	fn, tr := h.Function, h.Trigger
	ranged := func(path []string, rg Range, v int64, unit string) {
		if check(path...) && !rg.Contains(v) {
			add(path, "Value out of range", "%s must be between %d and %d%s on %s%s, got %d.",
				strings.Join(path, "."), rg.Min, rg.Max, unit, h.Cloud, because(rg.Why), v)
		}
	}
	if known("function", "runtime") {
		if rt, ok := r.Runtimes[fn.Runtime]; !ok {
			add([]string{"function", "runtime"}, "Unsupported runtime",
				"function.runtime must be one of %s on %s, got %q.", quoteAll(runtimesOf(r)), h.Cloud, fn.Runtime)
		} else if rt.EntryPoint == "" && known("function", "entry_point") && fn.EntryPoint == "" {
			add([]string{"function", "entry_point"}, "Missing entry point",
				"function.entry_point is required for runtime %s (for example \"com.example.Handler::handleRequest\").", fn.Runtime)
		}
	}
	if known("function", "source_dir") && known("function", "source_zip") && (fn.SourceDir == "") == (fn.SourceZip == "") {
		add([]string{"function", "source_dir"}, "Invalid code source",
			"Set exactly one of function.source_dir (a directory to zip) and function.source_zip (a zip file).")
	}
	ranged([]string{"function", "memory_mb"}, r.MemoryMB, fn.MemoryMB, " MB")
	if check("function", "memory_mb") && r.MemorySizes != nil && r.MemoryMB.Contains(fn.MemoryMB) && !slices.Contains(r.MemorySizes, fn.MemoryMB) {
		add([]string{"function", "memory_mb"}, "Unsupported memory size",
			"function.memory_mb must be one of %s on %s, got %d.", joinInts(r.MemorySizes), h.Cloud, fn.MemoryMB)
	}
	ranged([]string{"function", "timeout_s"}, r.TimeoutS, fn.TimeoutS, " seconds")
	if check("function", "architecture") && !slices.Contains(r.Architectures, fn.Architecture) {
		add([]string{"function", "architecture"}, "Unsupported architecture",
			"function.architecture must be one of %s on %s, got %q.", quoteAll(r.Architectures), h.Cloud, fn.Architecture)
	}
	if check("function", "log_retention_days") && !slices.Contains(r.LogRetention, fn.LogRetentionDays) {
		add([]string{"function", "log_retention_days"}, "Unsupported log retention",
			"function.log_retention_days must be one of %s on %s, got %d.", joinInts(r.LogRetention), h.Cloud, fn.LogRetentionDays)
	}
	if fn.MaxConcurrency != 0 {
		ranged([]string{"function", "max_concurrency"}, r.MaxConcurrency, fn.MaxConcurrency, "")
	}
	ps = append(ps, checkEnv(h, r, known)...)

	if known("trigger", "kind") && tr.Kind != Queue && tr.Kind != Topic {
		add([]string{"trigger", "kind"}, "Unsupported trigger kind", "trigger.kind must be \"queue\" or \"topic\", got %q.", tr.Kind)
	}
	if known("trigger", "source") && known("trigger", "kind") && tr.Source != "" && r.Source != nil {
		msg := r.Source(tr.Kind, tr.Source)
		if msg != "" && isImportID(h.Cloud, tr.Source) {
			msg = fmt.Sprintf("%q is a threefactor_topic's id (its import id); trigger.source takes the topic's topic_id.", tr.Source)
		}
		if msg != "" {
			add([]string{"trigger", "source"}, "Invalid trigger source", "%s", msg)
		}
	}
	ps = append(ps, checkFilter(h, r, known)...)
	ps = append(ps, checkTables(h, r, known)...)
	ranged([]string{"trigger", "batch_size"}, r.BatchSize, tr.BatchSize, "")
	ranged([]string{"trigger", "batch_window_s"}, r.BatchWindowS, tr.BatchWindowS, " seconds")
	if r.BatchSizeNeedsWindow > 0 && check("trigger", "batch_size") && check("trigger", "batch_window_s") &&
		tr.BatchSize > r.BatchSizeNeedsWindow && tr.BatchWindowS < 1 {
		add([]string{"trigger", "batch_window_s"}, "Batching window required",
			"trigger.batch_size above %d requires trigger.batch_window_s of at least 1 second on %s.", r.BatchSizeNeedsWindow, h.Cloud)
	}
	ranged([]string{"trigger", "visibility_timeout_s"}, r.VisibilityTimeoutS, tr.VisibilityTimeoutS, " seconds")
	ranged([]string{"retry", "max_attempts"}, r.MaxAttempts, h.Retry.MaxAttempts, "")
	ranged([]string{"retry", "min_backoff_s"}, r.MinBackoffS, h.Retry.MinBackoffS, " seconds")
	ranged([]string{"dead_letter", "retention_days"}, r.RetentionDays, h.DeadLetter.RetentionDays, " days")
	ranged([]string{"dedup", "ttl_s"}, r.DedupTTLS, h.Dedup.TTLS, " seconds")
	if known("tags") {
		ps = append(ps, CheckTagMap(h.Tags, h.Cloud, r, "tags")...)
	}
	if r.Check != nil {
		ps = append(ps, r.Check(h, known)...)
	}

	// An event is redelivered for up to max_attempts visibility timeouts; a record that expires sooner
	// lets a late redelivery run the handler again. Checked once each setting is valid on its own.
	if known("retry", "max_attempts") && known("trigger", "visibility_timeout_s") && known("dedup", "ttl_s") &&
		r.MaxAttempts.Contains(h.Retry.MaxAttempts) && r.DedupTTLS.Contains(h.Dedup.TTLS) {
		if window := h.Retry.MaxAttempts * tr.VisibilityTimeoutS; h.Dedup.TTLS < window {
			ps = append(ps, Problem{Path: []string{"dedup", "ttl_s"}, Warning: true, Summary: "Dedup TTL shorter than the redelivery window",
				Detail: fmt.Sprintf("dedup.ttl_s (%d) is below retry.max_attempts × trigger.visibility_timeout_s (%d seconds): a redelivery after the record expires runs the handler again.", h.Dedup.TTLS, window)})
		}
	}
	return ps
}

// because turns a limit's reason into the tail of a sentence.
func because(why string) string {
	if why == "" {
		return ""
	}
	return " (" + why + ")"
}

func runtimesOf(r *Rules) []string {
	var names []string
	for _, n := range RuntimeNames {
		if _, ok := r.Runtimes[n]; ok {
			names = append(names, n)
		}
	}
	return names
}

func checkName(name string, minLen, maxLen int) string {
	switch {
	case len(name) < minLen || len(name) > maxLen:
		return fmt.Sprintf("name must be %d-%d characters long on this cloud, got %d.", minLen, maxLen, len(name))
	case !nameRE.MatchString(name):
		return fmt.Sprintf("name must start with a lowercase letter, contain only lowercase letters, digits and hyphens, and end with a letter or digit, got %q.", name)
	case strings.Contains(name, "--"):
		return fmt.Sprintf("name must not contain \"--\", which separates a handler's name from its component suffixes (so that no two handlers' components can collide), got %q.", name)
	}
	return ""
}

func checkEnv(h *Handler, l *Rules, known Known) []Problem {
	var ps []Problem
	size := int64(0)
	stores := map[string]string{}
	for name := range h.Function.Tables {
		stores[name] = strings.Repeat("x", 96)
	}
	for k, v := range h.Env(strings.Repeat("x", 96), stores) {
		size += int64(len(k) + len(v))
	}
	for _, attr := range []string{"environment", "secret_environment"} {
		if !known("function", attr) {
			return ps
		}
		env := h.Function.Environment
		if attr == "secret_environment" {
			env = h.Function.SecretEnvironment
		}
		for _, k := range sortedKeys(env) {
			size += int64(len(k) + len(env[k]))
			var msg string
			switch {
			case !envKeyRE.MatchString(k):
				msg = "keys must match [a-zA-Z][a-zA-Z0-9_]+ (a letter, then at least one letter, digit or underscore)."
			case strings.HasPrefix(k, EnvPrefix):
				msg = "keys starting with " + EnvPrefix + " are reserved for the variables the provider injects."
			case slices.Contains(l.ReservedEnv, k):
				msg = "this key is reserved by the platform; reserved keys are " + strings.Join(l.ReservedEnv, ", ") + "."
			case attr == "secret_environment" && hasKey(h.Function.Environment, k):
				msg = "this key is also set in function.environment; set it in one map only."
			}
			if msg != "" {
				ps = append(ps, Problem{Path: []string{"function", attr}, Key: k, Summary: "Invalid environment variable",
					Detail: fmt.Sprintf("function.%s key %q: %s", attr, k, msg)})
			}
		}
	}
	if size > l.EnvBytes {
		ps = append(ps, Problem{Path: []string{"function", "environment"}, Summary: "Environment too large",
			Detail: fmt.Sprintf("function.environment and function.secret_environment, with the variables the provider injects, take about %d bytes; the limit is %d bytes.", size, l.EnvBytes)})
	}
	return ps
}

// CheckTagMap checks tags against cloud c's key and value rules; from names where they were set
// ("tags", or the provider's "default_tags"). Problems are reported on the resource's tags.
func CheckTagMap(tags map[string]string, c Cloud, r *Rules, from string) []Problem {
	var ps []Problem
	for _, k := range sortedKeys(tags) {
		var msg string
		switch {
		case r.Tags.ReservedPrefix != "" && strings.HasPrefix(k, r.Tags.ReservedPrefix):
			msg = fmt.Sprintf("keys starting with %q are reserved for the provider.", r.Tags.ReservedPrefix)
		case r.Tags.Key != nil && r.Tags.Key(k) != "":
			msg = r.Tags.Key(k)
		case r.Tags.Value != nil && r.Tags.Value(tags[k]) != "":
			msg = "its value: " + r.Tags.Value(tags[k])
		}
		if msg != "" {
			ps = append(ps, Problem{Path: []string{"tags"}, Key: k, Summary: "Invalid tag",
				Detail: fmt.Sprintf("%s key %q is not valid on %s: %s", from, k, c, msg)})
		}
	}
	return ps
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func joinInts(vs []int64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = itoa(v)
	}
	return strings.Join(s, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
