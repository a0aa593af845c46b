package drivertest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// ItemPutter is a harness that can write an item into an app's table, as a handler would; the parts
// cases run on drivers that implement driver.Parts, whose harnesses must be one.
type ItemPutter interface {
	PutItem(ctx context.Context, tableID, key string) error
}

// runPartsTests runs the cases of an app's shared parts, for drivers that have them.
func runPartsTests(t *testing.T, newHarness HarnessMaker) {
	t.Run("TopicLifecycle", func(t *testing.T) { withParts(t, newHarness, testTopicLifecycle) })
	t.Run("TopicWithSubscribers", func(t *testing.T) { withParts(t, newHarness, testTopicWithSubscribers) })
	t.Run("TableLifecycle", func(t *testing.T) { withParts(t, newHarness, testTableLifecycle) })
	t.Run("TableWithItems", func(t *testing.T) { withParts(t, newHarness, testTableWithItems) })
	t.Run("FilterAndGrants", func(t *testing.T) { withParts(t, newHarness, testFilterAndGrants) })
}

func withParts(t *testing.T, newHarness HarnessMaker, f func(context.Context, *testing.T, Harness, driver.Parts)) {
	withHarness(t, newHarness, func(ctx context.Context, t *testing.T, h Harness) {
		ps, ok := h.Driver().(driver.Parts)
		if !ok {
			t.Fatalf("the %s driver (%T) has topics and tables in its rules but does not implement driver.Parts", h.Cloud().Name, h.Driver())
		}
		f(ctx, t, h, ps)
	})
}

// Topic and Table return a valid part for cloud c with every default applied.
func Topic(name string, c *driver.Cloud) *spec.AppTopic {
	return &spec.AppTopic{Name: name, Cloud: c.Name, RetentionDays: c.Rules.Topics.DefaultRetentionDays, Tags: map[string]string{"team": "orders"}}
}

func Table(name string, c *driver.Cloud) *spec.AppTable {
	ttl := "expires"
	if a := c.Rules.Tables.TTLAttribute; a != "" {
		ttl = a
	}
	return &spec.AppTable{Name: name, Cloud: c.Name, Key: spec.DefaultTableKey, TTLAttribute: ttl, Tags: tableTags(c, "orders")}
}

// tableTags are a table's tags for cloud c: none where its tables take none.
func tableTags(c *driver.Cloud, team string) map[string]string {
	if _, lacks := c.Rules.Tables.Unsupported["tags"]; lacks {
		return nil
	}
	return map[string]string{"team": team}
}

func applyPart[S any](ctx context.Context, t *testing.T, p driver.Part[S], want *S, id string) string {
	t.Helper()
	id, err := p.Apply(ctx, want, id)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return id
}

// checkPart reads the part and compares it with what was applied.
func checkPart[S any](ctx context.Context, t *testing.T, p driver.Part[S], id string, want *S) *driver.ObservedPart[S] {
	t.Helper()
	obs, err := p.Read(ctx, id)
	if err != nil || obs == nil {
		t.Fatalf("Read = %v, %v; want the part", obs, err)
	}
	if diff := cmp.Diff(*want, obs.Spec); diff != "" {
		t.Errorf("Read returned a part different from the one applied (-want +got):\n%s", diff)
	}
	if !obs.Encrypted || obs.ID != id {
		t.Errorf("Read: Encrypted = %v, ID = %q; want encrypted at rest and ID %q", obs.Encrypted, obs.ID, id)
	}
	return obs
}

// checkGone deletes the part twice (the second finds it gone) and reads it as gone.
func checkGone[S any](ctx context.Context, t *testing.T, p driver.Part[S], id string) {
	t.Helper()
	for i := range 2 {
		if err := p.Delete(ctx, id, false); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if obs, err := p.Read(ctx, id); obs != nil || err != nil {
		t.Errorf("Read after Delete = %v, %v; want nil, nil", obs, err)
	}
}

func testTopicLifecycle(ctx context.Context, t *testing.T, h Harness, ps driver.Parts) {
	p := ps.Topics()
	want := Topic("orders", h.Cloud())
	id := applyPart(ctx, t, p, want, "")
	obs := checkPart(ctx, t, p, id, want)
	if obs.Target == "" {
		t.Error("Read: no publish target")
	}
	if got, err := p.Locate(ctx, want.Name); err != nil || got != id {
		t.Errorf("Locate = %q, %v; want %q", got, err, id)
	}
	if _, err := p.Locate(ctx, "nobody"); driver.CodeOf(err) != driver.NotFound {
		t.Errorf("Locate of a missing topic: error %v, want code NotFound", err)
	}
	want.Tags = map[string]string{"team": "payments", "tier": "1"}
	if got := applyPart(ctx, t, p, want, id); got != id {
		t.Errorf("update in place changed the id from %q to %q", id, got)
	}
	checkPart(ctx, t, p, id, want)
	checkGone(ctx, t, p, id)
	// Apply over an id whose topic is gone makes it again.
	id = applyPart(ctx, t, p, want, id)
	checkPart(ctx, t, p, id, want)
	checkGone(ctx, t, p, id)
	checkNoLeftovers(ctx, t, h)
}

// testTopicWithSubscribers: a topic a handler still subscribes to is not deleted without force.
func testTopicWithSubscribers(ctx context.Context, t *testing.T, h Harness, ps driver.Parts) {
	p := ps.Topics()
	id := applyPart(ctx, t, p, Topic("fanout", h.Cloud()), "")
	sub := Handler("subscriber", h.Cloud())
	sub.Trigger.Kind, sub.Trigger.Source = spec.Topic, id
	sub.Function.SourceHash = h.Code().Hash
	st, _ := apply(ctx, t, h, sub, nil)
	err := p.Delete(ctx, id, false)
	if driver.CodeOf(err) != driver.FailedPrecondition {
		t.Fatalf("Delete of a topic with a subscriber: error %v, want code FailedPrecondition", err)
	}
	if obs, err := p.Read(ctx, id); obs == nil || err != nil {
		t.Fatalf("the refused Delete deleted the topic: Read = %v, %v", obs, err)
	}
	if err := p.Delete(ctx, id, true); err != nil {
		t.Fatalf("Delete with force: %v", err)
	}
	// The subscriber's handler deletes cleanly although its subscription went with the topic.
	if _, err := h.Driver().Delete(ctx, st); err != nil {
		t.Fatalf("Delete of the subscriber after its topic: %v", err)
	}
	checkNoLeftovers(ctx, t, h)
}

func testTableLifecycle(ctx context.Context, t *testing.T, h Harness, ps driver.Parts) {
	p := ps.Tables()
	want := Table("orders", h.Cloud())
	id := applyPart(ctx, t, p, want, "")
	checkPart(ctx, t, p, id, want)
	if got, err := p.Locate(ctx, want.Name); err != nil || got != id {
		t.Errorf("Locate = %q, %v; want %q", got, err, id)
	}
	if _, err := p.Locate(ctx, "nobody"); driver.CodeOf(err) != driver.NotFound {
		t.Errorf("Locate of a missing table: error %v, want code NotFound", err)
	}
	want.TTLAttribute, want.Tags = "", tableTags(h.Cloud(), "payments")
	if got := applyPart(ctx, t, p, want, id); got != id {
		t.Errorf("update in place changed the id from %q to %q", id, got)
	}
	checkPart(ctx, t, p, id, want)
	checkGone(ctx, t, p, id)
	checkNoLeftovers(ctx, t, h)
}

// testTableWithItems: a table that holds items is not deleted without force.
func testTableWithItems(ctx context.Context, t *testing.T, h Harness, ps driver.Parts) {
	p := ps.Tables()
	id := applyPart(ctx, t, p, Table("state", h.Cloud()), "")
	putter, ok := h.(ItemPutter)
	if !ok {
		t.Fatalf("the harness (%T) cannot put an item: it must implement drivertest.ItemPutter", h)
	}
	if err := putter.PutItem(ctx, id, "order-1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(ctx, id, false); driver.CodeOf(err) != driver.FailedPrecondition {
		t.Fatalf("Delete of a table with items: error %v, want code FailedPrecondition", err)
	}
	if obs, err := p.Read(ctx, id); obs == nil || err != nil {
		t.Fatalf("the refused Delete deleted the table: Read = %v, %v", obs, err)
	}
	if err := p.Delete(ctx, id, true); err != nil {
		t.Fatalf("Delete with force: %v", err)
	}
	checkNoLeftovers(ctx, t, h)
}

// testFilterAndGrants: a handler's trigger.filter and function.tables read back as applied, change
// in place and go again.
func testFilterAndGrants(ctx context.Context, t *testing.T, h Harness, ps driver.Parts) {
	c := h.Cloud()
	topic := applyPart(ctx, t, ps.Topics(), Topic("events", c), "")
	orders := applyPart(ctx, t, ps.Tables(), Table("orders", c), "")
	audit := applyPart(ctx, t, ps.Tables(), Table("audit", c), "")
	want := Handler("granted", c)
	want.Trigger.Kind, want.Trigger.Source = spec.Topic, topic
	want.Trigger.Filter = map[string][]string{"type": {"order.created", "order.paid"}}
	want.Function.Tables = map[string]spec.TableGrant{"orders": {TableID: orders, Access: spec.ReadWrite}, "audit_log": {TableID: audit, Access: spec.Read}}
	want.Function.SourceHash = h.Code().Hash
	st, _ := apply(ctx, t, h, want, nil)
	checkObserved(t, read(ctx, t, h, st), want)

	changed := *want
	changed.Trigger.Filter = map[string][]string{"type": {"order.cancelled"}, "region": {"eu"}}
	changed.Function.Tables = map[string]spec.TableGrant{"orders": {TableID: orders, Access: spec.Read}}
	st2, _ := apply(ctx, t, h, &changed, st)
	checkObserved(t, read(ctx, t, h, st2), &changed)
	changed.Trigger.Filter, changed.Function.Tables = nil, nil
	st2, _ = apply(ctx, t, h, &changed, st2)
	checkObserved(t, read(ctx, t, h, st2), &changed)
	for _, c := range c.Order() {
		if c != driver.Subscription && st2.Get(c) != st.Get(c) {
			t.Errorf("changing the filter and grants replaced the %s", c)
		}
	}
	if _, err := h.Driver().Delete(ctx, st2); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{orders, audit} {
		if err := ps.Tables().Delete(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := ps.Topics().Delete(ctx, topic, false); err != nil {
		t.Fatal(err)
	}
	checkNoLeftovers(ctx, t, h)
}
