package awslambda

import (
	"slices"
	"strings"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

func valid() *spec.Handler {
	h := &spec.Handler{Name: "order-placed", Cloud: Name, Function: spec.Function{Runtime: "nodejs22", SourceDir: "src"}, Trigger: spec.Trigger{Kind: spec.Queue}}
	rules.Fill(h)
	return h
}

func TestRulesAcceptDefaults(t *testing.T) {
	h := valid()
	if h.Function.MemoryMB != 256 || h.Function.Architecture != "x86_64" || h.Trigger.VisibilityTimeoutS != 180 || h.Function.EntryPoint != "index.handler" {
		t.Fatalf("Fill = %+v, want AWS's defaults (256 MB, x86_64, visibility 6 × 30 s, index.handler)", h)
	}
	if ps := spec.Validate(h, rules, spec.AllKnown); len(ps) != 0 {
		t.Fatalf("Validate(defaults) = %v, want none", ps)
	}
}

// Every rule reports on the attribute the user must change.
func TestRulesPaths(t *testing.T) {
	cases := []struct {
		name   string
		change func(*spec.Handler)
		path   string
		key    string
	}{
		{"name too short", func(h *spec.Handler) { h.Name = "a" }, "name", ""},
		{"name too long", func(h *spec.Handler) { h.Name = strings.Repeat("a", rules.NameMaxLen+1) }, "name", ""},
		{"name uppercase", func(h *spec.Handler) { h.Name = "Orders" }, "name", ""},
		{"name trailing hyphen", func(h *spec.Handler) { h.Name = "orders-" }, "name", ""},
		{"name separator", func(h *spec.Handler) { h.Name = "orders--dlq" }, "name", ""},
		{"runtime", func(h *spec.Handler) { h.Function.Runtime = "nodejs18" }, "function.runtime", ""},
		{"java without entry point", func(h *spec.Handler) { h.Function.Runtime, h.Function.EntryPoint = "java21", "" }, "function.entry_point", ""},
		{"no source", func(h *spec.Handler) { h.Function.SourceDir = "" }, "function.source_dir", ""},
		{"two sources", func(h *spec.Handler) { h.Function.SourceZip = "x.zip" }, "function.source_dir", ""},
		{"memory low", func(h *spec.Handler) { h.Function.MemoryMB = 127 }, "function.memory_mb", ""},
		{"memory high", func(h *spec.Handler) { h.Function.MemoryMB = 10241 }, "function.memory_mb", ""},
		{"timeout", func(h *spec.Handler) { h.Function.TimeoutS = 0 }, "function.timeout_s", ""},
		{"architecture", func(h *spec.Handler) { h.Function.Architecture = "arm" }, "function.architecture", ""},
		{"log retention", func(h *spec.Handler) { h.Function.LogRetentionDays = 31 }, "function.log_retention_days", ""},
		{"max concurrency", func(h *spec.Handler) { h.Function.MaxConcurrency = 1001 }, "function.max_concurrency", ""},
		{"env key one char", func(h *spec.Handler) { h.Function.Environment = map[string]string{"A": "x"} }, "function.environment", "A"},
		{"env key reserved", func(h *spec.Handler) { h.Function.Environment = map[string]string{"_HANDLER": "x"} }, "function.environment", "_HANDLER"},
		{"env key lambda", func(h *spec.Handler) { h.Function.Environment = map[string]string{"LAMBDA_TASK_ROOT": "x"} }, "function.environment", "LAMBDA_TASK_ROOT"},
		{"secret key injected", func(h *spec.Handler) { h.Function.SecretEnvironment = map[string]string{"THREEFACTOR_X": "x"} }, "function.secret_environment", "THREEFACTOR_X"},
		{"env too large", func(h *spec.Handler) {
			h.Function.SecretEnvironment = map[string]string{"BIG": strings.Repeat("x", 4000)}
		}, "function.environment", ""},
		{"trigger kind", func(h *spec.Handler) { h.Trigger.Kind = "stream" }, "trigger.kind", ""},
		{"source not an arn", func(h *spec.Handler) { h.Trigger.Source = "orders" }, "trigger.source", ""},
		{"topic source for queue", func(h *spec.Handler) { h.Trigger.Source = "arn:aws:sns:us-east-1:1:t" }, "trigger.source", ""},
		{"fifo topic", func(h *spec.Handler) { h.Trigger.Kind, h.Trigger.Source = spec.Topic, "arn:aws:sns:us-east-1:1:t.fifo" }, "trigger.source", ""},
		{"batch size", func(h *spec.Handler) { h.Trigger.BatchSize, h.Trigger.BatchWindowS = 10001, 1 }, "trigger.batch_size", ""},
		{"batch needs window", func(h *spec.Handler) { h.Trigger.BatchSize = 11 }, "trigger.batch_window_s", ""},
		{"visibility max", func(h *spec.Handler) { h.Trigger.VisibilityTimeoutS = 43201 }, "trigger.visibility_timeout_s", ""},
		{"visibility below timeout", func(h *spec.Handler) { h.Trigger.VisibilityTimeoutS = 29 }, "trigger.visibility_timeout_s", ""},
		{"max attempts", func(h *spec.Handler) { h.Retry.MaxAttempts = 1001 }, "retry.max_attempts", ""},
		{"retry outlives retention", func(h *spec.Handler) { h.Retry.MaxAttempts, h.DeadLetter.RetentionDays = 500, 1 }, "retry.max_attempts", ""},
		{"retention", func(h *spec.Handler) { h.DeadLetter.RetentionDays = 0 }, "dead_letter.retention_days", ""},
		{"ttl", func(h *spec.Handler) { h.Dedup.TTLS = 59 }, "dedup.ttl_s", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := valid()
			tc.change(h)
			var errs []spec.Problem
			for _, p := range spec.Validate(h, rules, spec.AllKnown) {
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

func TestVisibilityDefault(t *testing.T) {
	for _, tc := range []struct{ timeout, window, want int64 }{{30, 0, 180}, {30, 5, 185}, {900, 300, 5700}, {900, 300 * 200, 43200}} {
		if got := rules.VisibilityDefault(tc.timeout, tc.window); got != tc.want {
			t.Errorf("VisibilityDefault(%d, %d) = %d, want %d", tc.timeout, tc.window, got, tc.want)
		}
	}
}

func TestNeeds(t *testing.T) {
	base := []driver.Component{driver.Identity, driver.Logs, driver.DeadLetter, driver.DedupTable, driver.Queue, driver.Function, driver.Mapping}
	for _, tc := range []struct {
		kind   spec.TriggerKind
		source string
		want   []driver.Component
	}{
		{spec.Queue, "", base},
		{spec.Queue, "arn:aws:sqs:us-east-1:123456789012:orders", base},
		{spec.Topic, "", []driver.Component{driver.Identity, driver.Logs, driver.DeadLetter, driver.DedupTable, driver.Topic, driver.Queue, driver.Subscription, driver.Function, driver.Mapping}},
		{spec.Topic, "arn:aws:sns:us-east-1:123456789012:orders", []driver.Component{driver.Identity, driver.Logs, driver.DeadLetter, driver.DedupTable, driver.Queue, driver.Subscription, driver.Function, driver.Mapping}},
	} {
		h := &spec.Handler{Trigger: spec.Trigger{Kind: tc.kind, Source: tc.source}}
		if got := Cloud.Needs(h); !slices.Equal(got, tc.want) {
			t.Errorf("Needs(kind %s, source %q) = %v, want %v", tc.kind, tc.source, got, tc.want)
		}
	}
}

func TestPlan(t *testing.T) {
	prior := valid()
	prior.Function.SourceHash = "a"
	for _, tc := range []struct {
		name     string
		change   func(h *spec.Handler)
		replace  bool
		code     bool
		warnings int
	}{
		{"nothing", func(*spec.Handler) {}, false, false, 0},
		{"memory", func(h *spec.Handler) { h.Function.MemoryMB = 512 }, false, false, 0},
		{"code", func(h *spec.Handler) { h.Function.SourceHash = "b" }, false, true, 0},
		// Lambda takes a new architecture only with code.
		{"architecture", func(h *spec.Handler) { h.Function.Architecture = "arm64" }, false, true, 0},
		{"kind", func(h *spec.Handler) { h.Trigger.Kind = spec.Topic }, true, false, 1},
		{"source", func(h *spec.Handler) { h.Trigger.Source = "arn:aws:sqs:us-east-1:1:q" }, true, false, 1},
	} {
		desired := *prior
		tc.change(&desired)
		ch := Cloud.Plan(prior, &desired)
		if (len(ch.Replace) > 0) != tc.replace || ch.Code != tc.code || len(ch.Warnings) != tc.warnings {
			t.Errorf("%s: Plan = %+v, want replace %v, code %v, %d warnings", tc.name, ch, tc.replace, tc.code, tc.warnings)
		}
	}
}

func TestHoldsNameSettings(t *testing.T) {
	var h spec.Handler
	for c, paths := range Cloud.Holds {
		for _, p := range paths {
			spec.CopySetting(&h, valid(), p) // panics on a path spec does not have
		}
		if !slices.Contains(Cloud.Order(), c) {
			t.Errorf("Holds names %s, which AWS does not make", c)
		}
	}
}

func TestParseARN(t *testing.T) {
	a, ok := parseARN("arn:aws:sqs:eu-west-1:123456789012:orders")
	if !ok || a.Service != "sqs" || a.Region != "eu-west-1" || a.Account != "123456789012" || a.Resource != "orders" {
		t.Errorf("parseARN = %+v, %v", a, ok)
	}
	for _, bad := range []string{"", "orders", "arn:aws:sqs", "arn::sqs:r:a:n", "arn:aws:sqs:r:a:"} {
		if _, ok := parseARN(bad); ok {
			t.Errorf("parseARN(%q) accepted", bad)
		}
	}
}

func TestNamesNeverCollide(t *testing.T) {
	// A handler named like another's component cannot exist, so no two handlers share a component name.
	a, b := namesOf("orders", "us-east-1"), namesOf("orders-dlq", "us-east-1")
	all := func(n componentNames) []string {
		return []string{n.Function, n.Queue, n.DeadLetter, n.Topic, n.DedupTable, n.Identity}
	}
	for _, x := range all(a) {
		if slices.Contains(all(b), x) {
			t.Errorf("handlers orders and orders-dlq share component name %q", x)
		}
	}
	h := valid()
	h.Name = "orders--dlq"
	if ps := spec.Validate(h, rules, spec.AllKnown); len(ps) == 0 {
		t.Error("a name containing the component separator was accepted")
	}
}
