package azurefunctions

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// The rules Azure documents for the globally unique names.
var (
	storageRE   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	namespaceRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$`)
	cosmosRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,42}[a-z0-9]$`)
	siteRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,58}[A-Za-z0-9]$`)
)

// TestNames: every name a valid handler name derives is valid on Azure, and the globally unique
// ones differ between subscriptions, groups and locations.
func TestNames(t *testing.T) {
	d := &Driver{sub: "00000000-0000-0000-0000-000000000001", rg: "prod", location: "westeurope"}
	for _, name := range []string{"abc", "a-b", "orders-v2", strings.Repeat("x", rules.NameMaxLen), "a" + strings.Repeat("-b", (rules.NameMaxLen-1)/2)} {
		if msg := spec.Validate(&spec.Handler{Name: name}, rules, spec.AllKnown); hasNameProblem(msg) {
			t.Fatalf("handler name %q refused: %v", name, msg)
		}
		n := d.names(name)
		for what, c := range map[string]struct {
			v  string
			re *regexp.Regexp
		}{"storage account": {n.Storage, storageRE}, "namespace": {n.Namespace, namespaceRE}, "Cosmos account": {n.Cosmos, cosmosRE}, "function app": {n.Site, siteRE}} {
			if !c.re.MatchString(c.v) || strings.Contains(c.v, "--") && what == "namespace" {
				t.Errorf("%s name %q of handler %q is invalid on Azure", what, c.v, name)
			}
		}
		if strings.HasSuffix(n.Namespace, "-sb") || strings.HasSuffix(n.Namespace, "-mgmt") {
			t.Errorf("namespace %q ends in a reserved suffix", n.Namespace)
		}
		if len(n.Subscription) > 50 {
			t.Errorf("subscription name %q is longer than 50", n.Subscription)
		}
	}
	other := &Driver{sub: d.sub, rg: "dev", location: d.location}
	if d.names("orders").Storage == other.names("orders").Storage {
		t.Error("two resource groups derive the same storage account name")
	}
}

func hasNameProblem(ps []spec.Problem) bool {
	for _, p := range ps {
		if len(p.Path) == 1 && p.Path[0] == "name" {
			return true
		}
	}
	return false
}

// TestRules: Azure's defaults and limits.
func TestRules(t *testing.T) {
	h := &spec.Handler{Name: "orders", Cloud: Name, Function: spec.Function{Runtime: "nodejs22", SourceDir: "src"}, Trigger: spec.Trigger{Kind: spec.Queue}}
	rules.Fill(h)
	if h.Function.MemoryMB != 2048 || h.Trigger.BatchSize != 1 || h.Trigger.VisibilityTimeoutS != 300 || h.Retry.MinBackoffS != 0 {
		t.Errorf("defaults: memory %d, batch %d, lock %d s, backoff %d; want 2048, 1, min(300, 6 × 60) and none",
			h.Function.MemoryMB, h.Trigger.BatchSize, h.Trigger.VisibilityTimeoutS, h.Retry.MinBackoffS)
	}
	short := *h
	short.Function.TimeoutS, short.Trigger.VisibilityTimeoutS = 10, 0
	rules.Fill(&short)
	if short.Trigger.VisibilityTimeoutS != 60 {
		t.Errorf("lock duration for a 10 s timeout = %d, want 60", short.Trigger.VisibilityTimeoutS)
	}
	for _, tc := range []struct {
		path string
		set  func(*spec.Handler)
	}{
		{"function.memory_mb", func(h *spec.Handler) { h.Function.MemoryMB = 1024 }},
		{"retry.max_attempts", func(h *spec.Handler) { h.Retry.MaxAttempts = 2001 }},
		{"trigger.visibility_timeout_s", func(h *spec.Handler) { h.Trigger.VisibilityTimeoutS = 301 }},
		{"trigger.batch_size", func(h *spec.Handler) { h.Trigger.BatchSize = 10 }},
		{"trigger.source", func(h *spec.Handler) { h.Trigger.Source = "orders" }},
	} {
		bad := *h
		tc.set(&bad)
		ps := spec.Validate(&bad, rules, spec.AllKnown)
		found := false
		for _, p := range ps {
			found = found || strings.Join(p.Path, ".") == tc.path
		}
		if !found {
			t.Errorf("%s: Validate = %v, want a problem on it", tc.path, ps)
		}
	}
	good := *h
	good.Trigger.Source = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/shared-ns/queues/orders"
	if ps := spec.Validate(&good, rules, spec.AllKnown); len(ps) != 0 {
		t.Errorf("a queue's ARM id as source: %v", ps)
	}
	good.Trigger.Kind = spec.Topic
	if ps := spec.Validate(&good, rules, spec.AllKnown); len(ps) == 0 {
		t.Error("a queue's ARM id as a topic source was accepted")
	}
}

// TestPlan: a kind or source change replaces the trigger entities and the receiver's grant; code
// is published only when its hash changes.
func TestPlan(t *testing.T) {
	prior := &spec.Handler{Trigger: spec.Trigger{Kind: spec.Queue}, Function: spec.Function{SourceHash: "a"}}
	same := *prior
	if ch := plan(prior, &same); ch.Code || len(ch.Replace) != 0 {
		t.Errorf("plan of no change = %+v", ch)
	}
	swapped := *prior
	swapped.Trigger.Kind = spec.Topic
	swapped.Function.SourceHash = "b"
	ch := plan(prior, &swapped)
	if !ch.Code || !slices.Contains(ch.Replace, ReceiverGrant) || !slices.Contains(ch.Replace, driver.Queue) || len(ch.Warnings) != 1 {
		t.Errorf("plan of a kind swap with new code = %+v", ch)
	}
}

// TestNeeds: a queue handler has no topic or subscription; a topic handler no queue, and no
// topic of its own with a source.
func TestNeeds(t *testing.T) {
	q := needs(&spec.Handler{Trigger: spec.Trigger{Kind: spec.Queue}})
	if slices.Contains(q, driver.Topic) || slices.Contains(q, driver.Subscription) || !slices.Contains(q, driver.Queue) {
		t.Errorf("queue handler needs %v", q)
	}
	tp := needs(&spec.Handler{Trigger: spec.Trigger{Kind: spec.Topic, Source: "x"}})
	if slices.Contains(tp, driver.Topic) || slices.Contains(tp, driver.Queue) || !slices.Contains(tp, driver.Subscription) {
		t.Errorf("topic handler with a source needs %v", tp)
	}
}

func TestISODurations(t *testing.T) {
	for in, want := range map[string]int64{"PT1M": 60, "PT30S": 30, "P14D": 14 * 86400, "PT1H0M5S": 3605, "PT5M": 300} {
		if got := isoSeconds(&in); got != want {
			t.Errorf("isoSeconds(%s) = %d, want %d", in, got, want)
		}
	}
	if got := hms(3725); got != "01:02:05" {
		t.Errorf("hms(3725) = %s", got)
	}
}
