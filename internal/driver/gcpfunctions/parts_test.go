package gcpfunctions_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/genproto/googleapis/type/expr"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// TestPartsCallBudget: a refresh of a topic reads it (1 call), of a table its database and its TTL
// field (2 calls); an apply without changes makes only those reads. A handler subscribed to the
// topic, with a filter and a table grant, refreshes in 11 calls (12 less its own topic, which it
// does not have): its grants are in the project policy it reads anyway.
func TestPartsCallBudget(t *testing.T) {
	h := harness(t)
	ctx := context.Background()
	d := h.D
	topic := &spec.AppTopic{Name: "budget", Cloud: gcpfunctions.Name, RetentionDays: 7, Tags: map[string]string{"team": "a"}}
	table := &spec.AppTable{Name: "budget", Cloud: gcpfunctions.Name, Key: spec.DefaultTableKey, TTLAttribute: "expires"}
	ids := map[string]string{}
	for _, tc := range []struct {
		name   string
		budget int
		apply  func(id string) (string, error)
		read   func(id string) error
	}{
		{"topic", 1, func(id string) (string, error) { return d.Topics().Apply(ctx, topic, id) },
			func(id string) error { _, err := d.Topics().Read(ctx, id); return err }},
		{"table", 2, func(id string) (string, error) { return d.Tables().Apply(ctx, table, id) },
			func(id string) error { _, err := d.Tables().Read(ctx, id); return err }},
	} {
		resetCalls(h)
		id, err := tc.apply("")
		if err != nil {
			t.Fatal(err)
		}
		ids[tc.name] = id
		created := calls(h)
		resetCalls(h)
		if err := tc.read(id); err != nil {
			t.Fatal(err)
		}
		read := calls(h)
		resetCalls(h)
		if _, err := tc.apply(id); err != nil {
			t.Fatal(err)
		}
		noop := calls(h)
		t.Logf("%s: create %d calls %v; refresh %d calls %v", tc.name, total(created), created, total(read), read)
		if total(read) != tc.budget {
			t.Errorf("%s: refresh made %d calls, want %d: %v", tc.name, total(read), tc.budget, read)
		}
		if !maps.Equal(noop, read) {
			t.Errorf("%s: Apply of an unchanged part made %v, want only the refresh's reads %v", tc.name, noop, read)
		}
	}
	want := handler("granted", spec.Topic)
	want.Trigger.Source, want.Trigger.Filter = ids["topic"], map[string][]string{"type": {"order.created"}}
	want.Function.Tables = map[string]spec.TableGrant{"budget": {TableID: ids["table"], Access: spec.ReadWrite}}
	st := apply(t, h, want, nil)
	resetCalls(h)
	if _, err := d.Read(ctx, st); err != nil {
		t.Fatal(err)
	}
	read := calls(h)
	resetCalls(h)
	apply(t, h, want, st)
	if noop := calls(h); total(read) != 11 || !maps.Equal(noop, read) {
		t.Errorf("a handler with a filter and a grant: refresh %v, apply without changes %v; want 11 calls, the same", read, noop)
	}
}

// TestPartsTakeNothingThatExists: a topic or a database of the part's name that the provider did not
// make is not taken over by a create: the error says to import it.
func TestPartsTakeNothingThatExists(t *testing.T) {
	h := harness(t)
	ctx := context.Background()
	if _, err := h.Topics.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + h.Project + "/topics/theirs"}); err != nil {
		t.Fatal(err)
	}
	_, err := h.D.Topics().Apply(ctx, &spec.AppTopic{Name: "theirs", Cloud: gcpfunctions.Name, RetentionDays: 7}, "")
	if driver.CodeOf(err) != driver.AlreadyExists || !strings.Contains(err.Error(), "import it (gcp/"+h.Project+"/") {
		t.Errorf("Apply over a topic of another's: %v, want AlreadyExists saying to import it", err)
	}
	if _, err := h.D.Tables().Apply(ctx, &spec.AppTable{Name: "state", Cloud: gcpfunctions.Name, Key: spec.DefaultTableKey}, ""); err != nil {
		t.Fatal(err)
	}
	_, err = h.D.Tables().Apply(ctx, &spec.AppTable{Name: "state", Cloud: gcpfunctions.Name, Key: spec.DefaultTableKey}, "")
	if driver.CodeOf(err) != driver.AlreadyExists || !strings.Contains(err.Error(), "import it") {
		t.Errorf("Apply of a second table of the same name: %v, want AlreadyExists saying to import it", err)
	}
}

// TestTableGrantsDrift: a table binding the function's variables do not name (added outside
// Terraform) is drift of the Firestore grants, and Apply removes it; removing function.tables
// leaves the account only its dedup grant.
func TestTableGrantsDrift(t *testing.T) {
	h := harness(t)
	ctx := context.Background()
	table, err := h.D.Tables().Apply(ctx, &spec.AppTable{Name: "orders", Cloud: gcpfunctions.Name, Key: spec.DefaultTableKey}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := handler("granted", spec.Queue)
	want.Function.Tables = map[string]spec.TableGrant{"orders": {TableID: table, Access: spec.ReadWrite}}
	st := apply(t, h, want, nil)
	member := "serviceAccount:" + st.Get(driver.Identity)
	bindings := func() []string {
		var out []string
		for _, b := range h.Fake.Policy("projects/" + h.Project).GetBindings() {
			if slices.Contains(b.GetMembers(), member) {
				out = append(out, b.GetRole()+" "+b.GetCondition().GetTitle())
			}
		}
		slices.Sort(out)
		return out
	}
	if got := bindings(); !slices.Equal(got, []string{"roles/datastore.user threefactor granted dedup", "roles/datastore.user threefactor table orders"}) {
		t.Fatalf("bindings after Apply: %v", got)
	}
	without := *want
	without.Function.Tables = nil
	st = apply(t, h, &without, st)
	if got := bindings(); !slices.Equal(got, []string{"roles/datastore.user threefactor granted dedup"}) {
		t.Fatalf("bindings after the grant was removed: %v, want the dedup grant only", got)
	}
	p := h.Fake.Policy("projects/" + h.Project)
	p.Bindings = append(p.Bindings, &iampb.Binding{Role: "roles/datastore.viewer", Members: []string{member},
		Condition: &expr.Expr{Title: "threefactor table stray", Expression: `resource.name == "` + table + `"`}})
	if err := h.SetProjectPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	obs, err := h.D.Read(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(obs.Drifted, gcpfunctions.DedupGrant) || obs.Handler.Function.Tables != nil {
		t.Errorf("Read after a stray table binding: drifted %v, tables %v; want the Firestore grants drifted, no tables", obs.Drifted, obs.Handler.Function.Tables)
	}
	apply(t, h, &without, st)
	if got := bindings(); !slices.Equal(got, []string{"roles/datastore.user threefactor granted dedup"}) {
		t.Errorf("bindings after Apply over the stray one: %v, want the dedup grant only", got)
	}
}
