package azurefunctions

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// TestSQLFilter: trigger.filter becomes a SQL filter over application properties, names
// delimited where they are not identifiers and quotes doubled, and reads back as it was.
func TestSQLFilter(t *testing.T) {
	for _, tc := range []struct {
		f    map[string][]string
		want string
	}{
		{map[string][]string{"type": {"order.created", "order.paid"}, "region": {"eu"}}, "region = 'eu' AND type IN ('order.created', 'order.paid')"},
		{map[string][]string{"note": {"it's"}}, "note = 'it''s'"},
		{map[string][]string{"event-type": {"x"}, "in": {"y"}}, "[event-type] = 'x' AND [in] = 'y'"},
		{map[string][]string{"a]b": {"AND x = 'y'"}}, "[a]]b] = 'AND x = ''y'''"},
	} {
		got := sqlFilter(tc.f)
		if got != tc.want {
			t.Errorf("sqlFilter(%v) = %q, want %q", tc.f, got, tc.want)
		}
		if back, ok := parseSQLFilter(got); !ok || !reflect.DeepEqual(back, tc.f) {
			t.Errorf("parseSQLFilter(%q) = %v, %v; want %v", got, back, ok, tc.f)
		}
	}
	for _, expr := range []string{"", "1=1", "type = 'a' OR region = 'b'", "type LIKE 'a%'", "type = 'a' AND type = 'b'", "type IN ('a'", "type = 3", "sys.Label = 'a'"} {
		if f, ok := parseSQLFilter(expr); ok {
			t.Errorf("parseSQLFilter(%q) = %v, true; want an expression this driver does not write refused", expr, f)
		}
	}
}

// TestFilterOfRules: only the rules the driver writes read as a filter; anything else is drift.
func TestFilterOfRules(t *testing.T) {
	for _, tc := range []struct {
		rules map[string]string
		want  map[string][]string
		ok    bool
	}{
		{map[string]string{defaultRule: defaultRuleExpr}, nil, true},
		{map[string]string{filterRule: "type = 'a'"}, map[string][]string{"type": {"a"}}, true},
		{map[string]string{filterRule: "type = 'a'", defaultRule: defaultRuleExpr}, nil, false},
		{map[string]string{"mine": "1=1"}, nil, false},
		{map[string]string{}, nil, false},
	} {
		if f, ok := filterOfRules(tc.rules); ok != tc.ok || !reflect.DeepEqual(f, tc.want) {
			t.Errorf("filterOfRules(%v) = %v, %v; want %v, %v", tc.rules, f, ok, tc.want, tc.ok)
		}
	}
}

// TestPartNames: the longest topic and table names derive a valid namespace and Cosmos account.
func TestPartNames(t *testing.T) {
	d := &Driver{sub: "00000000-0000-0000-0000-000000000001", rg: "prod", location: "westeurope"}
	topic := strings.Repeat("t", rules.Topics.NameMaxLen)
	if ps := spec.ValidateTopic(&spec.AppTopic{Name: topic, Cloud: Name, RetentionDays: 14}, rules, spec.AllKnown); len(ps) > 0 {
		t.Fatalf("topic name %q refused: %v", topic, ps)
	}
	ns := regexp.MustCompile(`/namespaces/([^/]+)/topics/`).FindStringSubmatch(d.topicID(topic))[1]
	if !namespaceRE.MatchString(ns) {
		t.Errorf("namespace %q of topic %q is invalid on Azure", ns, topic)
	}
	table := strings.Repeat("t", rules.Tables.NameMaxLen)
	if ps := spec.ValidateTable(&spec.AppTable{Name: table, Cloud: Name, Key: "id"}, rules, spec.AllKnown); len(ps) > 0 {
		t.Fatalf("table name %q refused: %v", table, ps)
	}
	if account := lastPart(d.tableAccount(table)); !cosmosRE.MatchString(account) {
		t.Errorf("Cosmos DB account %q of table %q is invalid on Azure", account, table)
	}
	if lastPart(d.tableAccount("orders")) == d.names("orders").Cosmos {
		t.Error("a table and a handler of the same name derive the same Cosmos DB account")
	}
}

// TestTablesWarning: function.tables on azure plans with a warning on the attribute that
// Transactional mode cannot write a granted table, and no error; a short lock is still refused
// beside it.
func TestTablesWarning(t *testing.T) {
	h := &spec.Handler{Name: "orders", Cloud: Name, Function: spec.Function{Runtime: "nodejs22", SourceDir: "src"}, Trigger: spec.Trigger{Kind: spec.Queue}}
	rules.Fill(h)
	h.Function.Tables = map[string]spec.TableGrant{"orders": {
		TableID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/a/sqlDatabases/orders_table/containers/orders", Access: spec.ReadWrite}}
	ps := spec.Validate(h, rules, spec.AllKnown)
	if len(ps) != 1 || !ps[0].Warning || strings.Join(ps[0].Path, ".") != "function.tables" || !strings.Contains(ps[0].Detail, "use ClaimComplete or SingleWrite") {
		t.Fatalf("Validate = %v, want one warning on function.tables naming the modes that work", ps)
	}
	h.Trigger.VisibilityTimeoutS = 10
	if ps := spec.Validate(h, rules, spec.AllKnown); len(ps) != 2 {
		t.Errorf("Validate with a short lock and a grant = %v, want the warning and the lock's error", ps)
	}
}
