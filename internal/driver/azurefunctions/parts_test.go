package azurefunctions_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"

	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions/azuretest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// TestPartsCallBudget: a topic's refresh reads the topic and its namespace (2 calls), a table's
// its container (1 call); a handler's grant adds one read of its SQL role assignment to the
// handler's refresh.
func TestPartsCallBudget(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	read := func(what string, want int, f func() error) {
		t.Helper()
		h.Fake.ResetCalls()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		if got := total(h.Fake.Calls()); got != want {
			t.Errorf("refresh of a %s made %d calls, want %d: %v", what, got, want, h.Fake.Calls())
		}
	}
	h.Fake.ResetCalls()
	topic, err := h.D.Topics().Apply(ctx, drivertest.Topic("budget", azurefunctions.Cloud), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("topic: create %d calls %v", total(h.Fake.Calls()), h.Fake.Calls())
	read("topic", 2, func() error { _, err := h.D.Topics().Read(ctx, topic); return err })
	h.Fake.ResetCalls()
	table, err := h.D.Tables().Apply(ctx, drivertest.Table("budget", azurefunctions.Cloud), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("table: create %d calls %v", total(h.Fake.Calls()), h.Fake.Calls())
	read("table", 1, func() error { _, err := h.D.Tables().Read(ctx, table); return err })
	want := handler("granted", spec.Queue)
	want.Function.Tables = map[string]spec.TableGrant{"budget": {TableID: table, Access: spec.ReadWrite}}
	st := apply(t, h, want, nil)
	read("handler with one grant", refreshCalls[spec.Queue]+1, func() error { _, err := h.D.Read(ctx, st); return err })
}

// TestFilterDrift: a rule added to a filtered subscription outside Terraform takes messages the
// filter would not: Read reports the subscription drifted and Apply leaves the filter's rule alone.
func TestFilterDrift(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	topic, err := h.D.Topics().Apply(ctx, drivertest.Topic("events", azurefunctions.Cloud), "")
	if err != nil {
		t.Fatal(err)
	}
	want := handler("filtered", spec.Topic)
	want.Trigger.Source, want.Trigger.Filter = topic, map[string][]string{"type": {"a"}}
	st := apply(t, h, want, nil)
	sub := st.Get(driver.Subscription)
	if err := h.Call(ctx, http.MethodPut, sub+"/rules/$Default?api-version=2021-11-01", `{"properties":{"filterType":"SqlFilter","sqlFilter":{"sqlExpression":"1=1"}}}`); err != nil {
		t.Fatal(err)
	}
	if obs, err := h.D.Read(ctx, st); err != nil || !slices.Contains(obs.Drifted, driver.Subscription) {
		t.Fatalf("Read after a rule was added: drifted %v, %v; want the subscription", obs.Drifted, err)
	}
	st = apply(t, h, want, st)
	if n, err := h.Fake.Publish(topic, map[string]string{"type": "b"}); err != nil || n != 0 {
		t.Errorf("a message the filter refuses reached %d subscription(s), %v; want none once Apply removed the added rule", n, err)
	}
	if obs, err := h.D.Read(ctx, st); err != nil || len(obs.Drifted) != 0 {
		t.Errorf("Read after Apply: drifted %v, %v", obs.Drifted, err)
	}
}

// TestTableInSharedAccount: with cosmos_account set, a table is a database and container of the
// shared account; destroy deletes them and leaves the account.
func TestTableInSharedAccount(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	cc, _ := armcosmos.NewDatabaseAccountsClient(h.Fake.Subscription(), h.Fake.StaticCredential(), h.Fake.ClientOptions())
	p, err := cc.BeginCreateOrUpdate(ctx, h.Fake.ResourceGroup(), "team-shared-cosmos", armcosmos.DatabaseAccountCreateUpdateParameters{
		Location: to.Ptr(azurefake.DefaultLocation), Properties: &armcosmos.DatabaseAccountCreateUpdateProperties{
			DatabaseAccountOfferType: to.Ptr("Standard"), Locations: []*armcosmos.Location{{LocationName: to.Ptr(azurefake.DefaultLocation)}},
			Capabilities: []*armcosmos.Capability{{Name: to.Ptr("EnableServerless")}},
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	account, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	before := h.Fake.Leftovers()
	cfg := azuretest.Config(h.Fake)
	cfg.SharedCosmos = *account.ID
	d, err := azurefunctions.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	id, err := d.Tables().Apply(ctx, drivertest.Table("orders", azurefunctions.Cloud), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := *account.ID + "/sqlDatabases/orders_table/containers/orders"; !strings.EqualFold(id, want) {
		t.Errorf("table id %q, want %q", id, want)
	}
	if got, err := d.Tables().Locate(ctx, "orders"); err != nil || got != id {
		t.Errorf("Locate = %q, %v; want %q", got, err, id)
	}
	if err := d.Tables().Delete(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if after := h.Fake.Leftovers(); !slices.Equal(after, before) {
		t.Errorf("after destroy the fake holds %v, want what it held before: %v", after, before)
	}
}

// TestLocateTableGrants: import finds a handler's table grants through its THREEFACTOR_TABLE_<NAME>
// settings and the SQL role assignments its identity holds, as Apply recorded them.
func TestLocateTableGrants(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	orders, err := h.D.Tables().Apply(ctx, drivertest.Table("orders", azurefunctions.Cloud), "")
	if err != nil {
		t.Fatal(err)
	}
	audit, err := h.D.Tables().Apply(ctx, drivertest.Table("audit", azurefunctions.Cloud), "")
	if err != nil {
		t.Fatal(err)
	}
	want := handler("importer", spec.Queue)
	want.Function.Tables = map[string]spec.TableGrant{"orders": {TableID: orders, Access: spec.ReadWrite}, "audit_log": {TableID: audit, Access: spec.Read}}
	st := apply(t, h, want, nil)
	got, err := h.D.Locate(ctx, "importer")
	if err != nil {
		t.Fatal(err)
	}
	obs, err := h.D.Read(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(obs.Handler.Function.Tables, want.Function.Tables) {
		t.Errorf("imported function.tables = %v, want %v", obs.Handler.Function.Tables, want.Function.Tables)
	}
	if _, err := h.D.Delete(ctx, st); err != nil {
		t.Fatal(err)
	}
}

// TestPartsTaken: creating a topic or table whose name another configuration's part already has
// is refused with the import id, and leaves that part alone.
func TestPartsTaken(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	topic, err := h.D.Topics().Apply(ctx, drivertest.Topic("taken", azurefunctions.Cloud), "")
	if err != nil {
		t.Fatal(err)
	}
	table, err := h.D.Tables().Apply(ctx, drivertest.Table("taken", azurefunctions.Cloud), "")
	if err != nil {
		t.Fatal(err)
	}
	for what, apply := range map[string]func() (string, error){
		"topic": func() (string, error) {
			return h.D.Topics().Apply(ctx, drivertest.Topic("taken", azurefunctions.Cloud), "")
		},
		"table": func() (string, error) {
			return h.D.Tables().Apply(ctx, drivertest.Table("taken", azurefunctions.Cloud), "")
		},
	} {
		id, err := apply()
		if driver.CodeOf(err) != driver.AlreadyExists || id != "" || !strings.Contains(err.Error(), h.D.ImportID("taken")) {
			t.Errorf("second %s of the same name: %q, %v; want no id and AlreadyExists naming the import id", what, id, err)
		}
	}
	if obs, err := h.D.Topics().Read(ctx, topic); obs == nil || err != nil {
		t.Errorf("the refused create touched the topic: %v, %v", obs, err)
	}
	if obs, err := h.D.Tables().Read(ctx, table); obs == nil || err != nil {
		t.Errorf("the refused create touched the table: %v, %v", obs, err)
	}
}
