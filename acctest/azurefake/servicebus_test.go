package azurefake

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"
)

func TestServiceBus(t *testing.T) {
	e := newEnv(t, Options{ResourceGroups: []string{DefaultResourceGroup, "other-rg"}})
	nsc := must[*armservicebus.NamespacesClient](t, "client")(armservicebus.NewNamespacesClient(e.sub, e.cred, e.opts))
	createNSIn := func(rg, name string, sku armservicebus.SKUName) (armservicebus.SBNamespace, error) {
		p, err := nsc.BeginCreateOrUpdate(e.ctx, rg, name, armservicebus.SBNamespace{
			Location: to.Ptr("westeurope"), SKU: &armservicebus.SBSKU{Name: to.Ptr(sku)},
			Properties: &armservicebus.SBNamespaceProperties{DisableLocalAuth: to.Ptr(true)},
		}, nil)
		got, err := poll(e.ctx, p, err)
		return got.SBNamespace, err
	}
	createNS := func(name string, sku armservicebus.SKUName) (armservicebus.SBNamespace, error) {
		return createNSIn(e.rg, name, sku)
	}
	ns, err := createNS("orders-bus", armservicebus.SKUNameStandard)
	if err != nil {
		t.Fatalf("creating the namespace: %v", err)
	}
	if *ns.Properties.ProvisioningState != "Succeeded" || !*ns.Properties.DisableLocalAuth || *ns.Properties.ServiceBusEndpoint != "https://orders-bus.servicebus.windows.net:443/" {
		t.Errorf("namespace: %+v", ns.Properties)
	}
	for _, name := range []string{"short", "1starts-with-digit", "ends-with-sb", "ends-mgmt", "has_underscore", "a23456789012345678901234567890123456789012345678901"} {
		_, err := createNS(name, armservicebus.SKUNameStandard)
		wantCode(t, "namespace "+name, err, http.StatusBadRequest, "BadRequest")
	}
	_, err = createNSIn("other-rg", "ORDERS-BUS", armservicebus.SKUNameStandard)
	wantCode(t, "a taken namespace name", err, http.StatusConflict, "Conflict")

	queues := must[*armservicebus.QueuesClient](t, "client")(armservicebus.NewQueuesClient(e.sub, e.cred, e.opts))
	queue := func(name string, p armservicebus.SBQueueProperties) error {
		_, err := queues.CreateOrUpdate(e.ctx, e.rg, "orders-bus", name, armservicebus.SBQueue{Properties: &p}, nil)
		return err
	}
	if err := queue("orders--dlq", armservicebus.SBQueueProperties{DefaultMessageTimeToLive: to.Ptr("P14D"), DeadLetteringOnMessageExpiration: to.Ptr(false)}); err != nil {
		t.Fatal(err)
	}
	good := armservicebus.SBQueueProperties{LockDuration: to.Ptr("PT5M"), MaxDeliveryCount: to.Ptr[int32](5), ForwardDeadLetteredMessagesTo: to.Ptr("orders--dlq")}
	if err := queue("orders", good); err != nil {
		t.Fatalf("creating the queue: %v", err)
	}
	got, err := queues.Get(e.ctx, e.rg, "orders-bus", "orders", nil)
	if err != nil || *got.Properties.LockDuration != "PT5M" || *got.Properties.MaxDeliveryCount != 5 || *got.Properties.ForwardDeadLetteredMessagesTo != "orders--dlq" {
		t.Errorf("queue as read: %+v, %v", got.Properties, err)
	}
	for _, tc := range []struct {
		what string
		p    armservicebus.SBQueueProperties
	}{
		{"lock PT5M1S", armservicebus.SBQueueProperties{LockDuration: to.Ptr("PT5M1S")}},
		{"lock PT4S", armservicebus.SBQueueProperties{LockDuration: to.Ptr("PT4S")}},
		{"lock 00:01:00", armservicebus.SBQueueProperties{LockDuration: to.Ptr("00:01:00")}},
		{"delivery count 0", armservicebus.SBQueueProperties{MaxDeliveryCount: to.Ptr[int32](0)}},
		{"delivery count 2001", armservicebus.SBQueueProperties{MaxDeliveryCount: to.Ptr[int32](2001)}},
		{"TTL PT0S", armservicebus.SBQueueProperties{DefaultMessageTimeToLive: to.Ptr("PT0S")}},
		{"forward to a missing queue", armservicebus.SBQueueProperties{ForwardDeadLetteredMessagesTo: to.Ptr("nope")}},
		{"forward to itself", armservicebus.SBQueueProperties{ForwardDeadLetteredMessagesTo: to.Ptr("orders")}},
	} {
		wantCode(t, tc.what, queue("orders", tc.p), http.StatusBadRequest, "BadRequest")
	}
	_, err = queues.CreateOrUpdate(e.ctx, e.rg, "missing-bus", "q", armservicebus.SBQueue{}, nil)
	wantCode(t, "a queue in a missing namespace", err, http.StatusNotFound, "ParentResourceNotFound")

	topics := must[*armservicebus.TopicsClient](t, "client")(armservicebus.NewTopicsClient(e.sub, e.cred, e.opts))
	if _, err := topics.CreateOrUpdate(e.ctx, e.rg, "orders-bus", "placed", armservicebus.SBTopic{}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = topics.CreateOrUpdate(e.ctx, e.rg, "orders-bus", "orders", armservicebus.SBTopic{}, nil)
	wantCode(t, "a topic named as a queue", err, http.StatusConflict, "MessagingEntityAlreadyExists")
	subs := must[*armservicebus.SubscriptionsClient](t, "client")(armservicebus.NewSubscriptionsClient(e.sub, e.cred, e.opts))
	_, err = subs.CreateOrUpdate(e.ctx, e.rg, "orders-bus", "placed", "billing", armservicebus.SBSubscription{Properties: &armservicebus.SBSubscriptionProperties{
		LockDuration: to.Ptr("PT1M"), MaxDeliveryCount: to.Ptr[int32](3), ForwardDeadLetteredMessagesTo: to.Ptr("orders--dlq"),
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = subs.CreateOrUpdate(e.ctx, e.rg, "orders-bus", "placed", "bad", armservicebus.SBSubscription{Properties: &armservicebus.SBSubscriptionProperties{LockDuration: to.Ptr("PT10M")}}, nil)
	wantCode(t, "a subscription's lock PT10M", err, http.StatusBadRequest, "BadRequest")
	rules := must[*armservicebus.RulesClient](t, "client")(armservicebus.NewRulesClient(e.sub, e.cred, e.opts))
	def, err := rules.Get(e.ctx, e.rg, "orders-bus", "placed", "billing", "$Default", nil)
	if err != nil || *def.Properties.SQLFilter.SQLExpression != "1=1" {
		t.Errorf("the $Default rule a subscription starts with: %+v, %v", def, err)
	}
	if _, err := rules.Delete(e.ctx, e.rg, "orders-bus", "placed", "billing", "$Default", nil); err != nil {
		t.Fatal(err)
	}
	_, err = rules.CreateOrUpdate(e.ctx, e.rg, "orders-bus", "placed", "billing", "eu", armservicebus.Rule{Properties: &armservicebus.Ruleproperties{
		FilterType: to.Ptr(armservicebus.FilterTypeCorrelationFilter), CorrelationFilter: &armservicebus.CorrelationFilter{Properties: map[string]*string{"region": to.Ptr("eu")}},
	}}, nil)
	if err != nil {
		t.Errorf("a correlation filter: %v", err)
	}
	_, err = rules.CreateOrUpdate(e.ctx, e.rg, "orders-bus", "placed", "billing", "empty", armservicebus.Rule{Properties: &armservicebus.Ruleproperties{
		FilterType: to.Ptr(armservicebus.FilterTypeSQLFilter), SQLFilter: &armservicebus.SQLFilter{SQLExpression: to.Ptr(" ")},
	}}, nil)
	wantCode(t, "an empty SQL filter", err, http.StatusBadRequest, "BadRequest")

	if _, err := createNS("basic-bus", armservicebus.SKUNameBasic); err != nil {
		t.Fatal(err)
	}
	_, err = topics.CreateOrUpdate(e.ctx, e.rg, "basic-bus", "t", armservicebus.SBTopic{}, nil)
	wantCode(t, "a topic on Basic", err, http.StatusBadRequest, "BadRequest")

	// Lists: the queues of a namespace, the namespaces of the resource group and the subscription.
	pager := queues.NewListByNamespacePager(e.rg, "orders-bus", nil)
	var names []string
	for pager.More() {
		page, err := pager.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range page.Value {
			names = append(names, *q.Name)
		}
	}
	if len(names) != 2 || names[0] != "orders" || names[1] != "orders--dlq" {
		t.Errorf("queues listed: %v", names)
	}
	for what, pager := range map[string]*runtime.Pager[armservicebus.NamespacesClientListByResourceGroupResponse]{"resource group": nsc.NewListByResourceGroupPager(e.rg, nil)} {
		page, err := pager.NextPage(e.ctx)
		if err != nil || len(page.Value) != 2 {
			t.Errorf("namespaces of the %s: %d, %v", what, len(page.Value), err)
		}
	}
	all, err := nsc.NewListPager(nil).NextPage(e.ctx)
	if err != nil || len(all.Value) != 2 {
		t.Errorf("namespaces of the subscription: %d, %v", len(all.Value), err)
	}

	// Deleting a namespace is long-running and takes its entities with it.
	for _, name := range []string{"orders-bus", "basic-bus"} {
		p, err := nsc.BeginDelete(e.ctx, e.rg, name, nil)
		if _, err := poll(e.ctx, p, err); err != nil {
			t.Fatalf("deleting %s: %v", name, err)
		}
	}
	if left := e.s.Leftovers(); len(left) != 0 {
		t.Errorf("leftovers: %v", left)
	}
	_, err = queues.Get(e.ctx, e.rg, "orders-bus", "orders", nil)
	wantCode(t, "a queue of a deleted namespace", err, http.StatusNotFound, "ResourceNotFound")
}
