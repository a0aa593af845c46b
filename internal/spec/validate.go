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

// NameMaxLen keeps every derived component name within its cloud's limit (an AWS role name, the
// tightest, is <name>--<region> within 64 characters).
const NameMaxLen = 40

// Validate checks h against its cloud's limits and the invariants between settings. Defaults must
// have been applied. It returns nothing for a cloud whose driver does not exist yet beyond that fact.
func Validate(h *Handler, known Known) []Problem {
	var ps []Problem
	add := func(path []string, summary, detail string, args ...any) {
		ps = append(ps, Problem{Path: path, Summary: summary, Detail: fmt.Sprintf(detail, args...)})
	}
	if known("name") {
		if msg := checkName(h.Name); msg != "" {
			add([]string{"name"}, "Invalid handler name", "%s", msg)
		}
	}
	if !known("cloud") {
		return ps
	}
	l, ok := LimitsFor(h.Cloud)
	if !ok {
		add([]string{"cloud"}, "Cloud not supported yet",
			"cloud %q is declared but its driver is not implemented in this version; use %q.", h.Cloud, AWS)
		return ps
	}
	fn, tr := h.Function, h.Trigger
	ranged := func(path []string, r Range, v int64, unit string) {
		if known(path...) && !r.Contains(v) {
			add(path, "Value out of range", "%s must be between %d and %d%s, got %d.", strings.Join(path, "."), r.Min, r.Max, unit, v)
		}
	}
	if known("function", "runtime") {
		if rt, ok := l.Runtimes[fn.Runtime]; !ok {
			add([]string{"function", "runtime"}, "Unsupported runtime",
				"function.runtime must be one of %s, got %q.", quoteAll(RuntimeNames), fn.Runtime)
		} else if rt.EntryPoint == "" && known("function", "entry_point") && fn.EntryPoint == "" {
			add([]string{"function", "entry_point"}, "Missing entry point",
				"function.entry_point is required for runtime %s (for example \"com.example.Handler::handleRequest\").", fn.Runtime)
		}
	}
	if known("function", "source_dir") && known("function", "source_zip") && (fn.SourceDir == "") == (fn.SourceZip == "") {
		add([]string{"function", "source_dir"}, "Invalid code source",
			"Set exactly one of function.source_dir (a directory to zip) and function.source_zip (a zip file).")
	}
	ranged([]string{"function", "memory_mb"}, l.MemoryMB, fn.MemoryMB, " MB")
	ranged([]string{"function", "timeout_s"}, l.TimeoutS, fn.TimeoutS, " seconds")
	if known("function", "architecture") && !slices.Contains(l.Architectures, fn.Architecture) {
		add([]string{"function", "architecture"}, "Unsupported architecture",
			"function.architecture must be one of %s, got %q.", quoteAll(l.Architectures), fn.Architecture)
	}
	if known("function", "log_retention_days") && !slices.Contains(l.LogRetention, fn.LogRetentionDays) {
		add([]string{"function", "log_retention_days"}, "Unsupported log retention",
			"function.log_retention_days must be one of %s, got %d.", joinInts(l.LogRetention), fn.LogRetentionDays)
	}
	if known("function", "max_concurrency") && fn.MaxConcurrency != 0 {
		ranged([]string{"function", "max_concurrency"}, l.MaxConcurrency, fn.MaxConcurrency, "")
	}
	ps = append(ps, checkEnv(h, l, known)...)

	if known("trigger", "kind") && tr.Kind != Queue && tr.Kind != Topic {
		add([]string{"trigger", "kind"}, "Unsupported trigger kind", "trigger.kind must be \"queue\" or \"topic\", got %q.", tr.Kind)
	}
	if known("trigger", "source") && known("trigger", "kind") && tr.Source != "" {
		if msg := checkSource(h.Cloud, tr.Kind, tr.Source); msg != "" {
			add([]string{"trigger", "source"}, "Invalid trigger source", "%s", msg)
		}
	}
	ranged([]string{"trigger", "batch_size"}, l.BatchSize, tr.BatchSize, "")
	ranged([]string{"trigger", "batch_window_s"}, l.BatchWindowS, tr.BatchWindowS, " seconds")
	if known("trigger", "batch_size") && known("trigger", "batch_window_s") &&
		tr.BatchSize > l.BatchSizeNeedsWindow && tr.BatchWindowS < 1 {
		add([]string{"trigger", "batch_window_s"}, "Batching window required",
			"trigger.batch_size above %d requires trigger.batch_window_s of at least 1 second.", l.BatchSizeNeedsWindow)
	}
	ranged([]string{"trigger", "visibility_timeout_s"}, l.VisibilityTimeoutS, tr.VisibilityTimeoutS, " seconds")
	if known("trigger", "visibility_timeout_s") && known("function", "timeout_s") && tr.VisibilityTimeoutS < fn.TimeoutS {
		add([]string{"trigger", "visibility_timeout_s"}, "Visibility timeout below function timeout",
			"trigger.visibility_timeout_s (%d) must be at least function.timeout_s (%d), or a message becomes visible again while it is still being processed.",
			tr.VisibilityTimeoutS, fn.TimeoutS)
	}
	ranged([]string{"retry", "max_attempts"}, l.MaxAttempts, h.Retry.MaxAttempts, "")
	ranged([]string{"dead_letter", "retention_days"}, l.RetentionDays, h.DeadLetter.RetentionDays, " days")
	ranged([]string{"dedup", "ttl_s"}, l.DedupTTLS, h.Dedup.TTLS, " seconds")

	// The invariant between settings is checked only once each is valid on its own: one error at a time.
	if known("retry", "max_attempts") && known("trigger", "visibility_timeout_s") && known("dead_letter", "retention_days") &&
		l.MaxAttempts.Contains(h.Retry.MaxAttempts) && l.RetentionDays.Contains(h.DeadLetter.RetentionDays) {
		window := h.Retry.MaxAttempts * tr.VisibilityTimeoutS
		retention := h.DeadLetter.RetentionDays * 86400
		if window > retention {
			add([]string{"retry", "max_attempts"}, "Retry budget outlives the queue's retention",
				"retry.max_attempts (%d) × trigger.visibility_timeout_s (%d) = %d seconds, longer than the source queue's retention of %d seconds (dead_letter.retention_days): messages would expire instead of being dead-lettered. Lower one of them.",
				h.Retry.MaxAttempts, tr.VisibilityTimeoutS, window, retention)
		}
		if known("dedup", "ttl_s") && h.Dedup.TTLS < window {
			ps = append(ps, Problem{Path: []string{"dedup", "ttl_s"}, Warning: true, Summary: "Dedup TTL shorter than the redelivery window",
				Detail: fmt.Sprintf("dedup.ttl_s (%d) is below retry.max_attempts × trigger.visibility_timeout_s (%d seconds): a redelivery after the record expires runs the handler again.", h.Dedup.TTLS, window)})
		}
	}
	return ps
}

func checkName(name string) string {
	switch {
	case len(name) < 2 || len(name) > NameMaxLen:
		return fmt.Sprintf("name must be 2-%d characters long, got %d.", NameMaxLen, len(name))
	case !nameRE.MatchString(name):
		return fmt.Sprintf("name must start with a lowercase letter, contain only lowercase letters, digits and hyphens, and end with a letter or digit, got %q.", name)
	case strings.Contains(name, "--"):
		return fmt.Sprintf("name must not contain \"--\", which separates a handler's name from its component suffixes (so that no two handlers' components can collide), got %q.", name)
	}
	return ""
}

func checkEnv(h *Handler, l Limits, known Known) []Problem {
	var ps []Problem
	size := int64(0)
	for k, v := range h.Env(strings.Repeat("x", 96)) {
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
				ps = append(ps, Problem{Path: []string{"function", attr}, Key: k, Summary: "Invalid environment variable", Detail: fmt.Sprintf("%q: %s", k, msg)})
			}
		}
	}
	if size > l.EnvBytes {
		ps = append(ps, Problem{Path: []string{"function", "environment"}, Summary: "Environment too large",
			Detail: fmt.Sprintf("function.environment and function.secret_environment, with the variables the provider injects, take about %d bytes; the limit is %d bytes.", size, l.EnvBytes)})
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

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
