package azurefake

import (
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"
)

// TestSQLFilterEvaluation: the subset of Service Bus's SQL filter grammar the fake evaluates.
func TestSQLFilterEvaluation(t *testing.T) {
	msg := map[string]string{"type": "order.paid", "region": "eu", "note": "it's", "event-type": "x"}
	for expr, want := range map[string]bool{
		"1=1":                      true,
		"type = 'order.paid'":      true,
		"user.type = 'order.paid'": true,
		"type IN ('order.created', 'order.paid') AND region = 'eu'": true,
		"type NOT IN ('order.paid')":                                false,
		"type = 'order.paid' AND region = 'us'":                     false,
		"type = 'x' OR (region = 'eu' AND NOT type = 'y')":          true,
		"note = 'it''s'":                     true,
		"[event-type] = 'x'":                 true,
		"missing = 'x'":                      false,
		"missing IS NULL AND EXISTS(region)": true,
		"type <> 'order.paid'":               false,
		"type != 'x'":                        true,
	} {
		e, err := parseSQL(expr)
		if err != nil {
			t.Errorf("parseSQL(%q): %v", expr, err)
			continue
		}
		if got := e(msg); got != want {
			t.Errorf("%q on %v = %v, want %v", expr, msg, got, want)
		}
	}
	for _, expr := range []string{"type = ", "type IN ('a'", "type LIKE 'a%'", "sys.Label = 'a'", "'unterminated", "(type = 'a'"} {
		if _, err := parseSQL(expr); err == nil {
			t.Errorf("parseSQL(%q) accepted", expr)
		}
	}
}

// TestPublishThroughRules: a published message is counted on the subscriptions whose rules take
// it; $Default can be deleted and written back; a rule the fake cannot evaluate, or longer than
// 1024 characters, is refused.
func TestPublishThroughRules(t *testing.T) {
	e := newEnv(t, Options{})
	nsc := must[*armservicebus.NamespacesClient](t, "client")(armservicebus.NewNamespacesClient(e.sub, e.cred, e.opts))
	p, err := nsc.BeginCreateOrUpdate(e.ctx, e.rg, "fanout-bus", armservicebus.SBNamespace{Location: to.Ptr("westeurope"), SKU: &armservicebus.SBSKU{Name: to.Ptr(armservicebus.SKUNameStandard)}}, nil)
	if _, err := poll(e.ctx, p, err); err != nil {
		t.Fatal(err)
	}
	topics := must[*armservicebus.TopicsClient](t, "client")(armservicebus.NewTopicsClient(e.sub, e.cred, e.opts))
	topic := must[armservicebus.TopicsClientCreateOrUpdateResponse](t, "topic")(topics.CreateOrUpdate(e.ctx, e.rg, "fanout-bus", "events", armservicebus.SBTopic{Properties: &armservicebus.SBTopicProperties{}}, nil))
	subs := must[*armservicebus.SubscriptionsClient](t, "client")(armservicebus.NewSubscriptionsClient(e.sub, e.cred, e.opts))
	rules := must[*armservicebus.RulesClient](t, "client")(armservicebus.NewRulesClient(e.sub, e.cred, e.opts))
	for _, name := range []string{"all", "paid"} {
		if _, err := subs.CreateOrUpdate(e.ctx, e.rg, "fanout-bus", "events", name, armservicebus.SBSubscription{Properties: &armservicebus.SBSubscriptionProperties{}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	rule := func(sub, name, expr string) error {
		_, err := rules.CreateOrUpdate(e.ctx, e.rg, "fanout-bus", "events", sub, name, armservicebus.Rule{Properties: &armservicebus.Ruleproperties{
			FilterType: to.Ptr(armservicebus.FilterTypeSQLFilter), SQLFilter: &armservicebus.SQLFilter{SQLExpression: to.Ptr(expr)}}}, nil)
		return err
	}
	if err := rule("paid", "only-paid", "type = 'order.paid'"); err != nil {
		t.Fatal(err)
	}
	if _, err := rules.Delete(e.ctx, e.rg, "fanout-bus", "events", "paid", "$Default", nil); err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string]int{"order.paid": 2, "order.created": 1} {
		if n, err := e.s.Publish(*topic.ID, map[string]string{"type": typ}); err != nil || n != want {
			t.Errorf("Publish(%s) reached %d subscriptions, %v; want %d", typ, n, err, want)
		}
	}
	for name, want := range map[string]int64{"all": 2, "paid": 1} {
		got, err := subs.Get(e.ctx, e.rg, "fanout-bus", "events", name, nil)
		if err != nil || *got.Properties.MessageCount != want || *got.Properties.CountDetails.ActiveMessageCount != want {
			t.Errorf("subscription %s: message count %v, %v; want %d", name, got.Properties.MessageCount, err, want)
		}
	}
	if err := rule("paid", "$Default", "1=1"); err != nil {
		t.Errorf("writing $Default back: %v", err)
	}
	wantCode(t, "a rule the fake cannot evaluate", rule("paid", "like", "type LIKE 'order.%'"), http.StatusBadRequest, "BadRequest")
	long := "type = '" + strings.Repeat("x", 1020) + "'"
	wantCode(t, "a rule of 1029 characters", rule("paid", "long", long), http.StatusBadRequest, "BadRequest")
	if _, err := e.s.Publish(*topic.ID+"x", nil); err == nil {
		t.Error("Publish to a missing topic succeeded")
	}
}

// TestContainerUsages: containers and databases report a _rid, a container's usages count the
// items written into it, and a container takes at most 15 tags.
func TestContainerUsages(t *testing.T) {
	e := newEnv(t, Options{})
	accounts := must[*armcosmos.DatabaseAccountsClient](t, "client")(armcosmos.NewDatabaseAccountsClient(e.sub, e.cred, e.opts))
	p, err := accounts.BeginCreateOrUpdate(e.ctx, e.rg, "state-acct", armcosmos.DatabaseAccountCreateUpdateParameters{
		Location: to.Ptr("westeurope"), Properties: &armcosmos.DatabaseAccountCreateUpdateProperties{
			DatabaseAccountOfferType: to.Ptr("Standard"), Locations: []*armcosmos.Location{{LocationName: to.Ptr("westeurope")}},
			Capabilities: []*armcosmos.Capability{{Name: to.Ptr("EnableServerless")}}}}, nil)
	if _, err := poll(e.ctx, p, err); err != nil {
		t.Fatal(err)
	}
	sql := must[*armcosmos.SQLResourcesClient](t, "client")(armcosmos.NewSQLResourcesClient(e.sub, e.cred, e.opts))
	dp, err := sql.BeginCreateUpdateSQLDatabase(e.ctx, e.rg, "state-acct", "db", armcosmos.SQLDatabaseCreateUpdateParameters{
		Properties: &armcosmos.SQLDatabaseCreateUpdateProperties{Resource: &armcosmos.SQLDatabaseResource{ID: to.Ptr("db")}}}, nil)
	if _, err := poll(e.ctx, dp, err); err != nil {
		t.Fatal(err)
	}
	container := func(tags int) error {
		ts := map[string]*string{}
		for i := range tags {
			ts[string(rune('a'+i))] = to.Ptr("v")
		}
		cp, err := sql.BeginCreateUpdateSQLContainer(e.ctx, e.rg, "state-acct", "db", "items", armcosmos.SQLContainerCreateUpdateParameters{Tags: ts,
			Properties: &armcosmos.SQLContainerCreateUpdateProperties{Resource: &armcosmos.SQLContainerResource{ID: to.Ptr("items"),
				PartitionKey: &armcosmos.ContainerPartitionKey{Paths: []*string{to.Ptr("/id")}, Kind: to.Ptr(armcosmos.PartitionKindHash)}}}}, nil)
		_, err = poll(e.ctx, cp, err)
		return err
	}
	wantCode(t, "a container with 16 tags", container(16), http.StatusBadRequest, "BadRequest")
	if err := container(15); err != nil {
		t.Fatal(err)
	}
	db := must[armcosmos.SQLResourcesClientGetSQLDatabaseResponse](t, "database")(sql.GetSQLDatabase(e.ctx, e.rg, "state-acct", "db", nil))
	c := must[armcosmos.SQLResourcesClientGetSQLContainerResponse](t, "container")(sql.GetSQLContainer(e.ctx, e.rg, "state-acct", "db", "items", nil))
	dbRID, cRID := *db.Properties.Resource.Rid, *c.Properties.Resource.Rid
	if dbRID == "" || cRID == dbRID {
		t.Fatalf("_rid of the database %q and container %q", dbRID, cRID)
	}
	colls := must[*armcosmos.CollectionClient](t, "client")(armcosmos.NewCollectionClient(e.sub, e.cred, e.opts))
	count := func() int64 {
		t.Helper()
		pager := colls.NewListUsagesPager(e.rg, "state-acct", dbRID, cRID, &armcosmos.CollectionClientListUsagesOptions{Filter: to.Ptr("name.value eq 'Document Count'")})
		page, err := pager.NextPage(e.ctx)
		if err != nil || len(page.Value) != 1 || *page.Value[0].Name.Value != "Document Count" {
			t.Fatalf("usages: %+v, %v", page.Value, err)
		}
		return *page.Value[0].CurrentValue
	}
	if n := count(); n != 0 {
		t.Errorf("Document Count of a new container = %d", n)
	}
	for _, id := range []string{"a", "b", "a"} {
		if err := e.s.PutDocument(*c.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(); n != 2 {
		t.Errorf("Document Count after writing items a, b and a again = %d, want 2", n)
	}
	_, err = colls.NewListUsagesPager(e.rg, "state-acct", dbRID, "nope", nil).NextPage(e.ctx)
	wantCode(t, "usages of a missing collection", err, http.StatusNotFound, "NotFound")
}
