package spec

import "strconv"

// Rules are one cloud's defaults and limits: the provider fills unset settings from Defaults at plan,
// and Validate checks a handler against the rest, because emulators accept almost anything and the
// real cloud refuses it at apply. Each cloud's driver package declares its Rules; spec knows none.
type Rules struct {
	Defaults Defaults
	// Runtimes maps every neutral runtime name (RuntimeNames) the cloud offers to its own.
	Runtimes map[string]Runtime
	MemoryMB Range
	// MemorySizes, when set, are the only memory sizes the cloud accepts (within MemoryMB).
	MemorySizes    []int64
	TimeoutS       Range
	Architectures  []string
	LogRetention   []int64
	MaxConcurrency Range
	BatchSize      Range
	// BatchSizeNeedsWindow is the largest batch allowed without a batching window; 0 means no such rule.
	BatchSizeNeedsWindow int64
	BatchWindowS         Range
	// VisibilityTimeoutS bounds trigger.visibility_timeout_s; VisibilityFactor is the cloud's advice for
	// its default (factor × function timeout + batch window, within the bound).
	VisibilityTimeoutS Range
	VisibilityFactor   int64
	MaxAttempts        Range
	MinBackoffS        Range
	RetentionDays      Range
	DedupTTLS          Range
	// ZipBytes and UnzippedBytes bound the code package; ZipAdvice says how to ship less.
	ZipBytes      int64
	UnzippedBytes int64
	ZipAdvice     string
	// EnvBytes bounds the sum of the lengths of every environment key and value, injected ones included.
	EnvBytes int64
	// ReservedEnv are keys the platform sets itself.
	ReservedEnv []string
	// NameMinLen and NameMaxLen keep every component name derived from the handler's within the
	// cloud's limits (NameMinLen 0 means 2).
	NameMinLen, NameMaxLen int
	// Unsupported names the settings the cloud lacks, by attribute path ("function.architecture"),
	// with the reason shown when one is set. They are null in plan and state on that cloud.
	Unsupported map[string]string
	Tags        TagRules
	// Source checks the shape of trigger.source for a trigger kind and returns what is wrong, or "".
	// Whether the source exists is the driver's Check.
	Source func(kind TriggerKind, source string) string
	// Filter bounds trigger.filter on clouds that have it (else Unsupported lists it).
	Filter *FilterRules
	// TableID checks the shape of a function.tables table_id and returns what is wrong, or "".
	TableID func(id string) string
	// Topics and Tables are the rules of threefactor_topic and threefactor_table; nil while the
	// provider has neither on this cloud.
	Topics *TopicRules
	Tables *TableRules
	// Check adds the cloud's own rules between settings (such as a queue's visibility timeout against
	// the function's timeout); nil when there are none.
	Check func(h *Handler, known Known) []Problem
}

// Defaults are what an unset setting becomes on one cloud.
type Defaults struct {
	MemoryMB         int64
	TimeoutS         int64
	Architecture     string
	LogRetentionDays int64
	BatchSize        int64
	BatchWindowS     int64
	MaxAttempts      int64
	MinBackoffS      int64
	RetentionDays    int64
	DedupTTLS        int64
}

// TagRules are what a cloud accepts as tag (or label) keys and values.
type TagRules struct {
	// HandlerKey is the reserved key every component carries with the handler's name, valid on the
	// cloud; ReservedPrefix (which HandlerKey starts with) is refused in users' keys.
	HandlerKey     string
	ReservedPrefix string
	// Key and Value return what is wrong with a key or a value, or "".
	Key   func(k string) string
	Value func(v string) string
}

// Range is an inclusive integer bound and the reason for it, shown in diagnostics and docs.
type Range struct {
	Min, Max int64
	Why      string
}

func (r Range) Contains(v int64) bool { return v >= r.Min && v <= r.Max }

func (r Range) String() string { return itoa(r.Min) + "-" + itoa(r.Max) }

// Runtime is one neutral runtime name as the cloud knows it.
type Runtime struct {
	// Name is the cloud's identifier (nodejs22.x, provided.al2023, ...).
	Name string
	// EntryPoint is the default entry point; empty means the user must give one.
	EntryPoint string
}

// RuntimeNames is every neutral runtime name, in documentation order.
var RuntimeNames = []string{"nodejs22", "nodejs24", "python3.12", "python3.13", "java21", "go"}

// VisibilityDefault is the cloud's advised visibility timeout for a function timeout and batch window.
func (r *Rules) VisibilityDefault(timeoutS, batchWindowS int64) int64 {
	return min(r.VisibilityFactor*timeoutS+batchWindowS, r.VisibilityTimeoutS.Max)
}

// Supports reports whether the cloud has the setting at an attribute path.
func (r *Rules) Supports(path string) bool {
	_, lacks := r.Unsupported[path]
	return !lacks
}

// Fill sets every zero setting of h that has a default on this cloud, and derives the entry point and
// the visibility timeout when they are unset. Settings the cloud lacks stay zero.
func (r *Rules) Fill(h *Handler) {
	d, f, t := r.Defaults, &h.Function, &h.Trigger
	set := func(path string, v *int64, def int64) {
		if *v == 0 && r.Supports(path) {
			*v = def
		}
	}
	set("function.memory_mb", &f.MemoryMB, d.MemoryMB)
	set("function.timeout_s", &f.TimeoutS, d.TimeoutS)
	set("function.log_retention_days", &f.LogRetentionDays, d.LogRetentionDays)
	set("trigger.batch_size", &t.BatchSize, d.BatchSize)
	set("trigger.batch_window_s", &t.BatchWindowS, d.BatchWindowS)
	set("retry.max_attempts", &h.Retry.MaxAttempts, d.MaxAttempts)
	set("retry.min_backoff_s", &h.Retry.MinBackoffS, d.MinBackoffS)
	set("dead_letter.retention_days", &h.DeadLetter.RetentionDays, d.RetentionDays)
	set("dedup.ttl_s", &h.Dedup.TTLS, d.DedupTTLS)
	if f.Architecture == "" && r.Supports("function.architecture") {
		f.Architecture = d.Architecture
	}
	if f.EntryPoint == "" {
		f.EntryPoint = r.Runtimes[f.Runtime].EntryPoint
	}
	if t.VisibilityTimeoutS == 0 {
		t.VisibilityTimeoutS = r.VisibilityDefault(f.TimeoutS, t.BatchWindowS)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
