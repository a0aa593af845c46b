package spec

import (
	"strings"
	"testing"
)

// partRules are the test cloud's rules with topics, tables, filters and grants.
func partRules() *Rules {
	r := *testRules
	r.Filter = &FilterRules{MaxKeys: 2, MaxCombinations: 4, MaxLen: 40,
		Rendered: func(f map[string][]string) string { return strings.Repeat("x", len(f["long"])*30) }, Why: "the test's limits"}
	r.TableID = func(id string) string {
		if !strings.HasPrefix(id, "table:") {
			return "table_id must start with table:."
		}
		return ""
	}
	r.Topics = &TopicRules{NameMaxLen: 30, RetentionDays: Range{Min: 1, Max: 7}, DefaultRetentionDays: 7}
	r.Tables = &TableRules{NameMinLen: 3, NameMaxLen: 30, Attribute: func(n string) string {
		if strings.Contains(n, " ") {
			return "no spaces."
		}
		return ""
	}}
	return &r
}

// Each check of a topic, a table, a filter and a grant reports on its attribute, saying what is allowed.
func TestValidateParts(t *testing.T) {
	r := partRules()
	topic := func(f func(*AppTopic)) []Problem {
		tp := &AppTopic{Name: "orders", Cloud: "test", RetentionDays: 7}
		f(tp)
		return ValidateTopic(tp, r, AllKnown)
	}
	table := func(f func(*AppTable)) []Problem {
		tb := &AppTable{Name: "orders", Cloud: "test", Key: DefaultTableKey}
		f(tb)
		return ValidateTable(tb, r, AllKnown)
	}
	handler := func(f func(*Handler)) []Problem {
		h := valid()
		f(h)
		return Validate(h, r, AllKnown)
	}
	topicHandler := func(filter map[string][]string) func(*Handler) {
		return func(h *Handler) { h.Trigger.Kind, h.Trigger.Source, h.Trigger.Filter = Topic, "topic/orders", filter }
	}
	for _, tc := range []struct {
		name      string
		ps        []Problem
		path, has string
	}{
		{"topic separator", topic(func(t *AppTopic) { t.Name = "orders--topic" }), "name", `must not contain "--"`},
		{"topic fifo", topic(func(t *AppTopic) { t.Name = "orders.fifo" }), "name", "FIFO topics are not supported"},
		{"topic retention", topic(func(t *AppTopic) { t.RetentionDays = 8 }), "retention_days", "between 1 and 7 days"},
		{"table name", table(func(t *AppTable) { t.Name = "ab" }), "name", "3-30 characters"},
		{"table key", table(func(t *AppTable) { t.Key = "order id" }), "key", "no spaces"},
		{"ttl is key", table(func(t *AppTable) { t.TTLAttribute = DefaultTableKey }), "ttl_attribute", "must differ from key"},
		{"filter on a queue", handler(func(h *Handler) { h.Trigger.Filter = map[string][]string{"type": {"a"}} }), "trigger.filter", `needs trigger.kind = "topic"`},
		{"filter empty", handler(topicHandler(map[string][]string{})), "trigger.filter", "is empty"},
		{"filter no values", handler(topicHandler(map[string][]string{"type": {}})), "trigger.filter", "lists no values"},
		{"filter keys", handler(topicHandler(map[string][]string{"a": {"1"}, "b": {"1"}, "c": {"1"}})), "trigger.filter", "at most 2 are allowed"},
		{"filter combinations", handler(topicHandler(map[string][]string{"a": {"1", "2", "3"}, "b": {"1", "2"}})), "trigger.filter", "6 combinations"},
		{"filter length", handler(topicHandler(map[string][]string{"long": {"1", "2"}})), "trigger.filter", "60 characters"},
		{"grant name", handler(func(h *Handler) {
			h.Function.Tables = map[string]TableGrant{"Orders": {TableID: "table:o", Access: Read}}
		}), "function.tables", "lowercase letters"},
		{"grant access", handler(func(h *Handler) {
			h.Function.Tables = map[string]TableGrant{"orders": {TableID: "table:o", Access: "write"}}
		}), "function.tables", `access must be "read" or "read_write"`},
		{"grant id", handler(func(h *Handler) {
			h.Function.Tables = map[string]TableGrant{"orders": {TableID: "orders", Access: Read}}
		}), "function.tables", "must start with table:"},
		{"grant import id", handler(func(h *Handler) {
			h.Function.Tables = map[string]TableGrant{"orders": {TableID: "test/scope/orders", Access: Read}}
		}), "function.tables", "threefactor_table's id"},
		{"grants empty", handler(func(h *Handler) { h.Function.Tables = map[string]TableGrant{} }), "function.tables", "is empty"},
		{"topic id as source", handler(func(h *Handler) { h.Trigger.Kind, h.Trigger.Source = Topic, "test/scope/orders" }), "trigger.source", "threefactor_topic's id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.ps) != 1 {
				t.Fatalf("problems %v, want one", tc.ps)
			}
			p := tc.ps[0]
			if strings.Join(p.Path, ".") != tc.path || !strings.Contains(p.Detail, tc.has) {
				t.Errorf("problem %v, want one on %s saying %q", p, tc.path, tc.has)
			}
		})
	}
	if ps := handler(topicHandler(map[string][]string{"a": {"1", "2"}, "b": {"1", "2"}})); len(ps) != 0 {
		t.Errorf("a filter within the limits: %v", ps)
	}
	if ps := handler(func(h *Handler) {
		h.Function.Tables = map[string]TableGrant{"audit_log": {TableID: "table:a", Access: ReadWrite}}
	}); len(ps) != 0 {
		t.Errorf("a valid grant: %v", ps)
	}
}
