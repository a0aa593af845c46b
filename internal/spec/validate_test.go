package spec

import (
	"strings"
	"testing"
)

// testRules is a cloud of the tests' own: spec knows no real one.
var testRules = &Rules{
	Defaults:           Defaults{MemoryMB: 512, TimeoutS: 60, BatchSize: 1, MaxAttempts: 5, RetentionDays: 7, DedupTTLS: 3600},
	Runtimes:           map[string]Runtime{"nodejs22": {Name: "node", EntryPoint: "handler"}, "java21": {Name: "java"}},
	MemoryMB:           Range{Min: 512, Max: 4096, Why: "the sizes on offer"},
	MemorySizes:        []int64{512, 2048, 4096},
	TimeoutS:           Range{Min: 1, Max: 600},
	MaxConcurrency:     Range{Min: 1, Max: 100},
	BatchSize:          Range{Min: 1, Max: 1},
	VisibilityTimeoutS: Range{Min: 10, Max: 600},
	VisibilityFactor:   1,
	MaxAttempts:        Range{Min: 5, Max: 100},
	RetentionDays:      Range{Min: 1, Max: 31},
	DedupTTLS:          Range{Min: 60, Max: 86400},
	EnvBytes:           4 << 10,
	ReservedEnv:        []string{"PLATFORM_VAR"},
	NameMaxLen:         20,
	Unsupported: map[string]string{"function.architecture": "chosen by the platform", "function.log_retention_days": "no log group",
		"trigger.batch_window_s": "no batching"},
	Tags: TagRules{
		HandlerKey: "tf-handler", ReservedPrefix: "tf-",
		Key: func(k string) string {
			if strings.ToLower(k) != k {
				return "keys are lowercase."
			}
			return ""
		},
		Value: func(v string) string {
			if len(v) > 10 {
				return "values are at most 10 characters."
			}
			return ""
		},
	},
	Source: func(kind TriggerKind, source string) string {
		if !strings.HasPrefix(source, string(kind)+"/") {
			return "trigger.source must start with " + string(kind) + "/."
		}
		return ""
	},
}

func valid() *Handler {
	h := &Handler{Name: "order-placed", Cloud: "test", Function: Function{Runtime: "nodejs22", SourceDir: "src"}, Trigger: Trigger{Kind: Queue}}
	testRules.Fill(h)
	return h
}

func TestFill(t *testing.T) {
	h := valid()
	if h.Function.MemoryMB != 512 || h.Function.EntryPoint != "handler" || h.Trigger.VisibilityTimeoutS != 60 || h.Retry.MaxAttempts != 5 {
		t.Errorf("Fill = %+v, want the rules' defaults and derived values", h)
	}
	if h.Function.Architecture != "" || h.Function.LogRetentionDays != 0 {
		t.Errorf("Fill set settings the cloud lacks: architecture %q", h.Function.Architecture)
	}
	if ps := Validate(h, testRules, AllKnown); len(ps) != 0 {
		t.Fatalf("Validate(defaults) = %v, want none", ps)
	}
}

// Every rule reports on the attribute the user must change, and its detail names that attribute.
func TestValidatePaths(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Handler)
		path   string
		key    string
	}{
		{"name too long", func(h *Handler) { h.Name = strings.Repeat("a", 21) }, "name", ""},
		{"name separator", func(h *Handler) { h.Name = "orders--dlq" }, "name", ""},
		{"runtime the cloud lacks", func(h *Handler) { h.Function.Runtime = "go" }, "function.runtime", ""},
		{"entry point", func(h *Handler) { h.Function.Runtime, h.Function.EntryPoint = "java21", "" }, "function.entry_point", ""},
		{"memory size not offered", func(h *Handler) { h.Function.MemoryMB = 1024 }, "function.memory_mb", ""},
		{"memory out of range", func(h *Handler) { h.Function.MemoryMB = 256 }, "function.memory_mb", ""},
		{"secret key reserved", func(h *Handler) { h.Function.SecretEnvironment = map[string]string{"PLATFORM_VAR": "x"} }, "function.secret_environment", "PLATFORM_VAR"},
		{"secret key injected", func(h *Handler) { h.Function.SecretEnvironment = map[string]string{"THREEFACTOR_X": "x"} }, "function.secret_environment", "THREEFACTOR_X"},
		{"source", func(h *Handler) { h.Trigger.Source = "topic/x" }, "trigger.source", ""},
		{"max attempts", func(h *Handler) { h.Retry.MaxAttempts = 4 }, "retry.max_attempts", ""},
		{"tag key reserved", func(h *Handler) { h.Tags = map[string]string{"tf-x": "1"} }, "tags", "tf-x"},
		{"tag key rule", func(h *Handler) { h.Tags = map[string]string{"Team": "1"} }, "tags", "Team"},
		{"tag value rule", func(h *Handler) { h.Tags = map[string]string{"team": "much-too-long"} }, "tags", "team"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := valid()
			tc.change(h)
			var errs []Problem
			for _, p := range Validate(h, testRules, AllKnown) {
				if !p.Warning {
					errs = append(errs, p)
				}
			}
			if len(errs) == 0 {
				t.Fatalf("no error, want one on %s", tc.path)
			}
			for _, p := range errs {
				if strings.Join(p.Path, ".") != tc.path || p.Key != tc.key {
					t.Errorf("error on %s[%s] (%s), want on %s[%s]", strings.Join(p.Path, "."), p.Key, p.Detail, tc.path, tc.key)
				}
				// OpenTofu shows nested attributes' errors on the resource's first line: the detail is
				// all its users see.
				if !strings.Contains(p.Detail, tc.path) {
					t.Errorf("detail %q does not name %s", p.Detail, tc.path)
				}
			}
		})
	}
}

// Settings the cloud lacks are the provider's to reject; Validate leaves their zero values alone.
func TestValidateSkipsUnsupported(t *testing.T) {
	h := valid()
	h.Function.Architecture, h.Trigger.BatchWindowS = "", 0
	if ps := Validate(h, testRules, AllKnown); len(ps) != 0 {
		t.Fatalf("Validate = %v, want none", ps)
	}
}

func TestValidateWarnsOnShortTTL(t *testing.T) {
	h := valid()
	h.Dedup.TTLS = 200 // below 5 attempts × 60 s
	ps := Validate(h, testRules, AllKnown)
	if len(ps) != 1 || !ps[0].Warning || strings.Join(ps[0].Path, ".") != "dedup.ttl_s" {
		t.Fatalf("Validate = %v, want one warning on dedup.ttl_s", ps)
	}
}

func TestValidateSkipsUnknown(t *testing.T) {
	h := valid()
	h.Function.MemoryMB = 0
	h.Trigger.VisibilityTimeoutS = 0
	unknown := func(path ...string) bool {
		p := strings.Join(path, ".")
		return p != "function.memory_mb" && p != "trigger.visibility_timeout_s"
	}
	if ps := Validate(h, testRules, unknown); len(ps) != 0 {
		t.Fatalf("Validate with unknown values = %v, want none", ps)
	}
}

func TestShortHash(t *testing.T) {
	a, b := ShortHash("sub-1", "westeurope", "orders"), ShortHash("sub-2", "westeurope", "orders")
	if len(a) != 8 || a == b || a != ShortHash("sub-1", "westeurope", "orders") || strings.ToLower(a) != a {
		t.Errorf("ShortHash = %q, %q: want 8 stable lowercase characters that differ per scope", a, b)
	}
	if ShortHash("ab", "c") == ShortHash("a", "bc") {
		t.Error("ShortHash joins its parts ambiguously")
	}
}
