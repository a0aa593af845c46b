package gcpfunctions

import (
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/functions/apiv2/functionspb"

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
	if h.Function.MemoryMB != 256 || h.Function.TimeoutS != 60 || h.Trigger.BatchSize != 1 || h.Trigger.VisibilityTimeoutS != 360 ||
		h.Retry.MaxAttempts != 5 || h.Retry.MinBackoffS != 10 || h.DeadLetter.RetentionDays != 7 || h.Function.EntryPoint != "handler" {
		t.Fatalf("Fill = %+v, want Google's defaults", h)
	}
	if h.Function.Architecture != "" || h.Function.LogRetentionDays != 0 {
		t.Errorf("Fill set settings Google lacks: %+v", h.Function)
	}
	if ps := spec.Validate(h, rules, spec.AllKnown); len(ps) != 0 {
		t.Fatalf("Validate(defaults) = %v, want none", ps)
	}
}

// Every Google rule reports on the attribute to change, naming it.
func TestRulesPaths(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*spec.Handler)
		path   string
	}{
		{"name length", func(h *spec.Handler) { h.Name = strings.Repeat("a", 49) }, "name"},
		{"memory size", func(h *spec.Handler) { h.Function.MemoryMB = 300 }, "function.memory_mb"},
		{"timeout above the ack deadline's maximum", func(h *spec.Handler) { h.Function.TimeoutS = 601 }, "function.timeout_s"},
		{"batch size", func(h *spec.Handler) { h.Trigger.BatchSize = 10 }, "trigger.batch_size"},
		{"ack deadline", func(h *spec.Handler) { h.Trigger.VisibilityTimeoutS = 601 }, "trigger.visibility_timeout_s"},
		{"ack deadline below timeout", func(h *spec.Handler) { h.Trigger.VisibilityTimeoutS = 30 }, "trigger.visibility_timeout_s"},
		{"delivery attempts", func(h *spec.Handler) { h.Retry.MaxAttempts = 4 }, "retry.max_attempts"},
		{"backoff", func(h *spec.Handler) { h.Retry.MinBackoffS = 601 }, "retry.min_backoff_s"},
		{"retention", func(h *spec.Handler) { h.DeadLetter.RetentionDays = 32 }, "dead_letter.retention_days"},
		{"label key", func(h *spec.Handler) { h.Tags = map[string]string{"Team": "a"} }, "tags"},
		{"label value", func(h *spec.Handler) { h.Tags = map[string]string{"team": "Orders"} }, "tags"},
		{"reserved label", func(h *spec.Handler) { h.Tags = map[string]string{"threefactor-x": "a"} }, "tags"},
		{"source", func(h *spec.Handler) { h.Trigger.Source = "arn:aws:sqs:us-east-1:1:q" }, "trigger.source"},
		{"runtime Google lacks", func(h *spec.Handler) { h.Function.Runtime = "nodejs24" }, "function.runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := valid()
			tc.change(h)
			var errs []spec.Problem
			for _, p := range spec.Validate(h, rules, spec.AllKnown) {
				if !p.Warning {
					errs = append(errs, p)
				}
			}
			if len(errs) != 1 || strings.Join(errs[0].Path, ".") != tc.path || !strings.Contains(errs[0].Detail, tc.path) {
				t.Errorf("Validate = %v, want one error on %s that names it", errs, tc.path)
			}
		})
	}
}

func TestSourceShape(t *testing.T) {
	if msg := rules.Source(spec.Topic, "projects/my-project/topics/orders"); msg != "" {
		t.Errorf("a topic name was refused: %s", msg)
	}
	for _, bad := range []string{"orders", "projects/p/topics/orders", "projects/my-project/subscriptions/orders", "projects/my-project/topics/1x"} {
		if rules.Source(spec.Queue, bad) == "" {
			t.Errorf("trigger.source %q accepted", bad)
		}
	}
}

func TestNeeds(t *testing.T) {
	base := []driver.Component{driver.Identity, driver.DedupTable, driver.DeadLetter, DeadLetterSubscription, DedupGrant, driver.Function, driver.Subscription}
	with := func(c driver.Component) []driver.Component {
		cs := append(slices.Clone(base), c)
		slices.SortFunc(cs, func(a, b driver.Component) int { return slices.Index(order, a) - slices.Index(order, b) })
		return cs
	}
	for _, tc := range []struct {
		kind   spec.TriggerKind
		source string
		want   []driver.Component
	}{
		{spec.Queue, "", with(driver.Queue)},
		{spec.Topic, "", with(driver.Topic)},
		{spec.Queue, "projects/my-project/topics/orders", base},
		{spec.Topic, "projects/my-project/topics/orders", base},
	} {
		if got := Cloud.Needs(&spec.Handler{Trigger: spec.Trigger{Kind: tc.kind, Source: tc.source}}); !slices.Equal(got, tc.want) {
			t.Errorf("Needs(%s, %q) = %v, want %v", tc.kind, tc.source, got, tc.want)
		}
	}
}

func TestPlan(t *testing.T) {
	prior := valid()
	prior.Function.SourceHash = "a"
	for _, tc := range []struct {
		name          string
		change        func(h *spec.Handler)
		replace, code bool
	}{
		{"nothing", func(*spec.Handler) {}, false, false},
		{"runtime rebuilds from the stored source", func(h *spec.Handler) { h.Function.Runtime = "python3.13" }, false, false},
		{"code", func(h *spec.Handler) { h.Function.SourceHash = "b" }, false, true},
		{"kind", func(h *spec.Handler) { h.Trigger.Kind = spec.Topic }, true, false},
	} {
		desired := *prior
		tc.change(&desired)
		if ch := Cloud.Plan(prior, &desired); (len(ch.Replace) > 0) != tc.replace || ch.Code != tc.code {
			t.Errorf("%s: Plan = %+v, want replace %v, code %v", tc.name, ch, tc.replace, tc.code)
		}
	}
}

func TestHoldsNameSettings(t *testing.T) {
	for c, paths := range Cloud.Holds {
		for _, p := range paths {
			spec.CopySetting(&spec.Handler{}, valid(), p) // panics on a path spec does not have
		}
		if !slices.Contains(order, c) {
			t.Errorf("Holds names %s, which Google does not make", c)
		}
	}
}

func TestNames(t *testing.T) {
	d := &Driver{project: "my-project", region: "europe-west1"}
	long := strings.Repeat("a", 48)
	for _, name := range []string{"ab", "order-placed", long, "a-b-c-d-e-f-g-h-i-j-k-l"} {
		n := d.names(name)
		if len(n.Account) < 6 || len(n.Account) > 30 || !accountRE.MatchString(n.Account) {
			t.Errorf("account id %q of %q breaks the 6-30 character pattern", n.Account, name)
		}
		if len(n.Database) > 63 {
			t.Errorf("database id %q of %q is longer than 63", n.Database, name)
		}
	}
	other := &Driver{project: "my-project", region: "us-central1"}
	if d.names("orders").Account == other.names("orders").Account {
		t.Error("the same handler in two regions gets one service account")
	}
}

func TestDescription(t *testing.T) {
	if name, hash, unset := described(describe("orders", "abc123", 5)); name != "orders" || hash != "abc123" || unset {
		t.Errorf("described(describe) = %q, %q, %v", name, hash, unset)
	}
	if name, hash, unset := described(describe("orders", "abc123", 0)); name != "orders" || hash != "abc123" || !unset {
		t.Errorf("described(describe) with max instances unset = %q, %q, %v", name, hash, unset)
	}
	if name, hash, _ := described("someone else's function"); name != "" || hash != "" {
		t.Errorf("a description the provider did not write parsed as %q, %q", name, hash)
	}
}

func TestMemoryOf(t *testing.T) {
	for in, want := range map[string]int64{"256Mi": 256, "1Gi": 1024, "512M": 512, "2G": 2000, "": 0} {
		if got := memoryOf(in); got != want {
			t.Errorf("memoryOf(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestFunctionChanges(t *testing.T) {
	d := &Driver{project: "p", region: "europe-west1"}
	h := valid()
	have := d.function(h, "a@p.iam.gserviceaccount.com", "projects/p/databases/x", nil)
	if got := functionChanges(have, d.function(h, "a@p.iam.gserviceaccount.com", "projects/p/databases/x", nil)); len(got) != 0 {
		t.Errorf("no change gives mask %v", got)
	}
	h.Function.MemoryMB = 512
	want := d.function(h, "a@p.iam.gserviceaccount.com", "projects/p/databases/x", &functionspb.StorageSource{Bucket: "b", Object: "o"})
	if got := functionChanges(have, want); !slices.Equal(got, []string{"build_config.source", "service_config.available_memory"}) {
		t.Errorf("mask = %v, want the source and the memory", got)
	}
}

// TestSubscriptionFilter: trigger.filter as Pub/Sub writes it, values ORed and attributes ANDed in
// parentheses, read back; a filter written by hand reads as not expressible.
func TestSubscriptionFilter(t *testing.T) {
	f := map[string][]string{"type": {"order.created", `a "quoted" \\ value`}, "region": {"eu"}}
	got := subscriptionFilter(f)
	want := `(attributes.region = "eu") AND (attributes.type = "order.created" OR attributes.type = "a \"quoted\" \\\\ value")`
	if got != want {
		t.Fatalf("subscriptionFilter = %s, want %s", got, want)
	}
	back, ok := filterOf(got)
	if !ok || !slices.Equal(back["type"], f["type"]) || !slices.Equal(back["region"], f["region"]) || len(back) != 2 {
		t.Errorf("filterOf(%s) = %v, %v; want %v", got, back, ok, f)
	}
	if s := subscriptionFilter(map[string][]string{"type": {"a"}}); s != `attributes.type = "a"` {
		t.Errorf("one attribute: %s", s)
	}
	for _, hand := range []string{`attributes.type != "a"`, `hasPrefix(attributes.type, "a")`, `attributes.type = "a" OR attributes.region = "b"`} {
		if _, ok := filterOf(hand); ok {
			t.Errorf("filterOf(%s) reads as expressible", hand)
		}
	}
	if f, ok := filterOf(""); f != nil || !ok {
		t.Errorf(`filterOf("") = %v, %v; want nil, true`, f, ok)
	}
}

// TestFilterRules: the 256 bytes and the attribute names a filter can name, on trigger.filter.
func TestFilterRules(t *testing.T) {
	for name, f := range map[string]map[string][]string{
		"over 256 bytes": {"type": {strings.Repeat("x", 120), strings.Repeat("y", 120)}},
		"hyphenated key": {"ce-type": {"a"}},
	} {
		h := valid()
		h.Trigger.Kind, h.Trigger.Filter = spec.Topic, f
		ps := spec.Validate(h, rules, spec.AllKnown)
		if len(ps) != 1 || strings.Join(ps[0].Path, ".") != "trigger.filter" || ps[0].Warning {
			t.Errorf("%s: Validate = %v, want one error on trigger.filter", name, ps)
		}
	}
}

// TestPlanFilterChange: a new filter replaces the push subscription only, with a warning; the same
// filter in another order changes nothing.
func TestPlanFilterChange(t *testing.T) {
	prior := valid()
	prior.Trigger.Kind, prior.Trigger.Filter = spec.Topic, map[string][]string{"type": {"a", "b"}}
	same := *prior
	same.Trigger.Filter = map[string][]string{"type": {"a", "b"}}
	if ch := plan(prior, &same); len(ch.Replace) != 0 || len(ch.Warnings) != 0 {
		t.Errorf("plan of the same filter = %+v, want no change", ch)
	}
	changed := *prior
	changed.Trigger.Filter = map[string][]string{"type": {"a"}}
	ch := plan(prior, &changed)
	if !slices.Equal(ch.Replace, []driver.Component{driver.Subscription}) || len(ch.Warnings) != 1 || !ch.Warnings[0].Warning ||
		strings.Join(ch.Warnings[0].Path, ".") != "trigger.filter" || !strings.Contains(ch.Warnings[0].Detail, "dropped") {
		t.Errorf("plan of a new filter = %+v, want the subscription replaced with a warning on trigger.filter", ch)
	}
}

// TestTableGrantRules: grants of either access level are taken without a warning (Transactional
// mode keeps its records beside a table's state); a table id of another cloud is refused.
func TestTableGrantRules(t *testing.T) {
	h := valid()
	h.Function.Tables = map[string]spec.TableGrant{
		"audit":  {TableID: "projects/my-project/databases/audit", Access: spec.Read},
		"orders": {TableID: "projects/my-project/databases/orders", Access: spec.ReadWrite},
	}
	if ps := spec.Validate(h, rules, spec.AllKnown); len(ps) != 0 {
		t.Errorf("Validate = %v, want none", ps)
	}
	h.Function.Tables = map[string]spec.TableGrant{"orders": {TableID: "arn:aws:dynamodb:us-east-1:1:table/orders", Access: spec.Read}}
	if ps := spec.Validate(h, rules, spec.AllKnown); len(ps) != 1 || ps[0].Warning || !strings.Contains(ps[0].Detail, "projects/<project>/databases/<table>") {
		t.Errorf("an AWS table id: Validate = %v, want one error saying the form", ps)
	}
}

// TestTopicRules: Pub/Sub's 3-255 characters and retention of 1-31 days.
func TestTopicRules(t *testing.T) {
	for _, tc := range []struct {
		topic spec.AppTopic
		path  string
	}{
		{spec.AppTopic{Name: "ab", RetentionDays: 7}, "name"},
		{spec.AppTopic{Name: "orders", RetentionDays: 0}, "retention_days"},
		{spec.AppTopic{Name: "orders", RetentionDays: 32}, "retention_days"},
		{spec.AppTopic{Name: "orders", RetentionDays: 7, Tags: map[string]string{"Team": "a"}}, "tags"},
	} {
		tc.topic.Cloud = Name
		ps := spec.ValidateTopic(&tc.topic, rules, spec.AllKnown)
		if len(ps) != 1 || strings.Join(ps[0].Path, ".") != tc.path {
			t.Errorf("ValidateTopic(%+v) = %v, want one problem on %s", tc.topic, ps, tc.path)
		}
	}
}

// TestTableRules: a table's name is a database id, key stays "id" and tables take no tags.
func TestTableRules(t *testing.T) {
	ok := &spec.AppTable{Name: "orders", Cloud: Name, Key: spec.DefaultTableKey, TTLAttribute: "expires_at"}
	if ps := spec.ValidateTable(ok, rules, spec.AllKnown); len(ps) != 0 {
		t.Fatalf("ValidateTable(%+v) = %v, want none", ok, ps)
	}
	for _, tc := range []struct {
		name   string
		change func(*spec.AppTable)
		path   string
	}{
		{"short name", func(t *spec.AppTable) { t.Name = "abc" }, "name"},
		{"double hyphen", func(t *spec.AppTable) { t.Name = "orders--dedup" }, "name"},
		{"key", func(t *spec.AppTable) { t.Key = "order_id" }, "key"},
		{"tags", func(t *spec.AppTable) { t.Tags = map[string]string{"team": "a"} }, "tags"},
		{"reserved field", func(t *spec.AppTable) { t.TTLAttribute = "__expires__" }, "ttl_attribute"},
		{"dotted field", func(t *spec.AppTable) { t.TTLAttribute = "meta.expires" }, "ttl_attribute"},
	} {
		tb := *ok
		tc.change(&tb)
		ps := spec.ValidateTable(&tb, rules, spec.AllKnown)
		if len(ps) != 1 || strings.Join(ps[0].Path, ".") != tc.path {
			t.Errorf("%s: ValidateTable = %v, want one problem on %s", tc.name, ps, tc.path)
		}
	}
}
