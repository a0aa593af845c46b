package spec

import (
	"slices"
	"strings"
	"testing"
)

func valid() *Handler {
	return &Handler{
		Name: "order-placed", Cloud: AWS,
		Function: Function{Runtime: "nodejs22", EntryPoint: "index.handler", SourceDir: "src", MemoryMB: 256, TimeoutS: 30,
			Architecture: "x86_64", LogRetentionDays: 30},
		Trigger:    Trigger{Kind: Queue, BatchSize: 10, VisibilityTimeoutS: 180},
		Retry:      Retry{MaxAttempts: 5},
		DeadLetter: DeadLetter{RetentionDays: 14},
		Dedup:      Dedup{TTLS: 86400},
	}
}

func TestValidateAcceptsDefaults(t *testing.T) {
	if ps := Validate(valid(), AllKnown); len(ps) != 0 {
		t.Fatalf("Validate(valid) = %v, want none", ps)
	}
}

// Every rule reports on the attribute the user must change.
func TestValidatePaths(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Handler)
		path   string
		key    string
	}{
		{"name too short", func(h *Handler) { h.Name = "a" }, "name", ""},
		{"name too long", func(h *Handler) { h.Name = strings.Repeat("a", NameMaxLen+1) }, "name", ""},
		{"name uppercase", func(h *Handler) { h.Name = "Orders" }, "name", ""},
		{"name trailing hyphen", func(h *Handler) { h.Name = "orders-" }, "name", ""},
		{"name separator", func(h *Handler) { h.Name = "orders--dlq" }, "name", ""},
		{"unknown cloud", func(h *Handler) { h.Cloud = "ibm" }, "cloud", ""},
		{"cloud not implemented", func(h *Handler) { h.Cloud = GCP }, "cloud", ""},
		{"runtime", func(h *Handler) { h.Function.Runtime = "nodejs18" }, "function.runtime", ""},
		{"java without entry point", func(h *Handler) { h.Function.Runtime, h.Function.EntryPoint = "java21", "" }, "function.entry_point", ""},
		{"no source", func(h *Handler) { h.Function.SourceDir = "" }, "function.source_dir", ""},
		{"two sources", func(h *Handler) { h.Function.SourceZip = "x.zip" }, "function.source_dir", ""},
		{"memory low", func(h *Handler) { h.Function.MemoryMB = 127 }, "function.memory_mb", ""},
		{"memory high", func(h *Handler) { h.Function.MemoryMB = 10241 }, "function.memory_mb", ""},
		{"timeout", func(h *Handler) { h.Function.TimeoutS = 0 }, "function.timeout_s", ""},
		{"architecture", func(h *Handler) { h.Function.Architecture = "arm" }, "function.architecture", ""},
		{"log retention", func(h *Handler) { h.Function.LogRetentionDays = 31 }, "function.log_retention_days", ""},
		{"max concurrency", func(h *Handler) { h.Function.MaxConcurrency = 1001 }, "function.max_concurrency", ""},
		{"env key one char", func(h *Handler) { h.Function.Environment = map[string]string{"A": "x"} }, "function.environment", "A"},
		{"env key reserved", func(h *Handler) { h.Function.Environment = map[string]string{"_HANDLER": "x"} }, "function.environment", "_HANDLER"},
		{"env key lambda", func(h *Handler) { h.Function.Environment = map[string]string{"LAMBDA_TASK_ROOT": "x"} }, "function.environment", "LAMBDA_TASK_ROOT"},
		{"secret key injected", func(h *Handler) { h.Function.SecretEnvironment = map[string]string{"THREEFACTOR_X": "x"} }, "function.secret_environment", "THREEFACTOR_X"},
		{"env too large", func(h *Handler) { h.Function.SecretEnvironment = map[string]string{"BIG": strings.Repeat("x", 4000)} }, "function.environment", ""},
		{"trigger kind", func(h *Handler) { h.Trigger.Kind = "stream" }, "trigger.kind", ""},
		{"source not an arn", func(h *Handler) { h.Trigger.Source = "orders" }, "trigger.source", ""},
		{"topic source for queue", func(h *Handler) { h.Trigger.Source = "arn:aws:sns:us-east-1:1:t" }, "trigger.source", ""},
		{"fifo topic", func(h *Handler) { h.Trigger.Kind, h.Trigger.Source = Topic, "arn:aws:sns:us-east-1:1:t.fifo" }, "trigger.source", ""},
		{"batch size", func(h *Handler) { h.Trigger.BatchSize, h.Trigger.BatchWindowS = 10001, 1 }, "trigger.batch_size", ""},
		{"batch needs window", func(h *Handler) { h.Trigger.BatchSize = 11 }, "trigger.batch_window_s", ""},
		{"visibility max", func(h *Handler) { h.Trigger.VisibilityTimeoutS = 43201 }, "trigger.visibility_timeout_s", ""},
		{"visibility below timeout", func(h *Handler) { h.Trigger.VisibilityTimeoutS = 29 }, "trigger.visibility_timeout_s", ""},
		{"max attempts", func(h *Handler) { h.Retry.MaxAttempts = 1001 }, "retry.max_attempts", ""},
		{"retry outlives retention", func(h *Handler) { h.Retry.MaxAttempts, h.DeadLetter.RetentionDays = 500, 1 }, "retry.max_attempts", ""},
		{"retention", func(h *Handler) { h.DeadLetter.RetentionDays = 0 }, "dead_letter.retention_days", ""},
		{"ttl", func(h *Handler) { h.Dedup.TTLS = 59 }, "dedup.ttl_s", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := valid()
			tc.change(h)
			var errs []Problem
			for _, p := range Validate(h, AllKnown) {
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
				if p.Summary == "" || p.Detail == "" {
					t.Errorf("problem without summary or detail: %+v", p)
				}
			}
		})
	}
}

func TestValidateWarnsOnShortTTL(t *testing.T) {
	h := valid()
	h.Dedup.TTLS = 600 // below 5 attempts × 180 s
	ps := Validate(h, AllKnown)
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
	if ps := Validate(h, unknown); len(ps) != 0 {
		t.Fatalf("Validate with unknown values = %v, want none", ps)
	}
}

func TestVisibilityDefault(t *testing.T) {
	l, _ := LimitsFor(AWS)
	for _, tc := range []struct{ timeout, window, want int64 }{{30, 0, 180}, {30, 5, 185}, {900, 300, 5700}, {900, 300 * 200, 43200}} {
		if got := l.VisibilityDefault(tc.timeout, tc.window); got != tc.want {
			t.Errorf("VisibilityDefault(%d, %d) = %d, want %d", tc.timeout, tc.window, got, tc.want)
		}
	}
}

func TestNamesNeverCollide(t *testing.T) {
	// A handler named like another's component cannot exist, so no two handlers share a component name.
	a, b := NamesOf("orders", "us-east-1"), NamesOf("orders-dlq", "us-east-1")
	all := func(n Names) []string {
		return []string{n.Function, n.Queue, n.DeadLetter, n.Topic, n.DedupTable, n.Identity}
	}
	for _, x := range all(a) {
		if slices.Contains(all(b), x) {
			t.Errorf("handlers orders and orders-dlq share component name %q", x)
		}
	}
	if ps := Validate(func() *Handler { h := valid(); h.Name = "orders--dlq"; return h }(), AllKnown); len(ps) == 0 {
		t.Error("a name containing the component separator was accepted")
	}
}

func TestParseARN(t *testing.T) {
	a, ok := ParseARN("arn:aws:sqs:eu-west-1:123456789012:orders")
	if !ok || a.Service != "sqs" || a.Region != "eu-west-1" || a.Account != "123456789012" || a.Resource != "orders" {
		t.Errorf("ParseARN = %+v, %v", a, ok)
	}
	for _, bad := range []string{"", "orders", "arn:aws:sqs", "arn::sqs:r:a:n", "arn:aws:sqs:r:a:"} {
		if _, ok := ParseARN(bad); ok {
			t.Errorf("ParseARN(%q) accepted", bad)
		}
	}
}
