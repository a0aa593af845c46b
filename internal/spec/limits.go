package spec

import "strconv"

// Defaults every cloud shares; the schema documents them.
const (
	DefaultMemoryMB         = 256
	DefaultTimeoutS         = 30
	DefaultArchitecture     = "x86_64"
	DefaultLogRetentionDays = 30
	DefaultBatchSize        = 10
	DefaultBatchWindowS     = 0
	DefaultMaxAttempts      = 5
	DefaultRetentionDays    = 14
	DefaultDedupTTLS        = 86400
)

// Range is an inclusive integer bound.
type Range struct{ Min, Max int64 }

func (r Range) Contains(v int64) bool { return v >= r.Min && v <= r.Max }

func (r Range) String() string { return itoa(r.Min) + "-" + itoa(r.Max) }

// Limits are what one cloud accepts; Validate checks a handler against them at plan time,
// because emulators accept almost anything and the real cloud refuses it at apply.
type Limits struct {
	Runtimes       map[string]Runtime
	MemoryMB       Range
	TimeoutS       Range
	Architectures  []string
	LogRetention   []int64
	MaxConcurrency Range
	BatchSize      Range
	// BatchSizeNeedsWindow is the largest batch allowed without a batching window.
	BatchSizeNeedsWindow int64
	BatchWindowS         Range
	// VisibilityTimeoutS bounds the source queue's visibility timeout; VisibilityFactor is the cloud's
	// advice for its default (factor × function timeout + batch window).
	VisibilityTimeoutS Range
	VisibilityFactor   int64
	MaxAttempts        Range
	RetentionDays      Range
	DedupTTLS          Range
	// ZipBytes and UnzippedBytes bound the code package.
	ZipBytes      int64
	UnzippedBytes int64
	// EnvBytes bounds the sum of the lengths of every environment key and value, injected ones included.
	EnvBytes int64
	// ReservedEnv are keys the platform sets itself.
	ReservedEnv []string
}

// Runtime is one neutral runtime name as the cloud knows it.
type Runtime struct {
	// Name is the cloud's identifier (nodejs22.x, provided.al2023, ...).
	Name string
	// EntryPoint is the default entry point; empty means the user must give one.
	EntryPoint string
}

// RuntimeNames is every neutral runtime name, in documentation order.
var RuntimeNames = []string{"nodejs22", "nodejs24", "python3.12", "python3.13", "java21", "go"}

var awsLimits = Limits{
	Runtimes: map[string]Runtime{
		"nodejs22":   {Name: "nodejs22.x", EntryPoint: "index.handler"},
		"nodejs24":   {Name: "nodejs24.x", EntryPoint: "index.handler"},
		"python3.12": {Name: "python3.12", EntryPoint: "main.handler"},
		"python3.13": {Name: "python3.13", EntryPoint: "main.handler"},
		"java21":     {Name: "java21"},
		"go":         {Name: "provided.al2023", EntryPoint: "bootstrap"},
	},
	MemoryMB:             Range{128, 10240},
	TimeoutS:             Range{1, 900},
	Architectures:        []string{"x86_64", "arm64"},
	LogRetention:         []int64{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653},
	MaxConcurrency:       Range{2, 1000},
	BatchSize:            Range{1, 10000},
	BatchSizeNeedsWindow: 10,
	BatchWindowS:         Range{0, 300},
	VisibilityTimeoutS:   Range{0, 43200},
	VisibilityFactor:     6,
	MaxAttempts:          Range{1, 1000},
	RetentionDays:        Range{1, 14},
	DedupTTLS:            Range{60, 31536000},
	ZipBytes:             50 << 20,
	UnzippedBytes:        250 << 20,
	EnvBytes:             4 << 10,
	ReservedEnv: []string{
		"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
		"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
		"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
	},
}

// LimitsFor returns the limits of a cloud whose driver exists, and false for one only declared so far.
func LimitsFor(c Cloud) (Limits, bool) {
	if c == AWS {
		return awsLimits, true
	}
	return Limits{}, false
}

// VisibilityDefault is the cloud's advised visibility timeout for a function timeout and batch window.
func (l Limits) VisibilityDefault(timeoutS, batchWindowS int64) int64 {
	return min(l.VisibilityFactor*timeoutS+batchWindowS, l.VisibilityTimeoutS.Max)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
