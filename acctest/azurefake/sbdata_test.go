package azurefake

import (
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"

	"github.com/threefactor/terraform-provider-threefactor/internal/runner/sbrest"
)

// sbEnv is a namespace "shop-bus" with queues made by props, and a data-plane client of it.
func sbEnv(t *testing.T, queues map[string]armservicebus.SBQueueProperties) (*env, *sbrest.Client) {
	t.Helper()
	e := newEnv(t, Options{})
	nsc := must[*armservicebus.NamespacesClient](t, "client")(armservicebus.NewNamespacesClient(e.sub, e.cred, e.opts))
	p, err := nsc.BeginCreateOrUpdate(e.ctx, e.rg, "shop-bus", armservicebus.SBNamespace{Location: to.Ptr("westeurope"), SKU: &armservicebus.SBSKU{Name: to.Ptr(armservicebus.SKUNameStandard)}}, nil)
	if _, err := poll(e.ctx, p, err); err != nil {
		t.Fatal(err)
	}
	qc := must[*armservicebus.QueuesClient](t, "client")(armservicebus.NewQueuesClient(e.sub, e.cred, e.opts))
	// Targets of forwarding first.
	for _, pass := range []bool{false, true} {
		for name, props := range queues {
			if (props.ForwardDeadLetteredMessagesTo != nil) != pass {
				continue
			}
			if _, err := qc.CreateOrUpdate(e.ctx, e.rg, "shop-bus", name, armservicebus.SBQueue{Properties: &props}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e, &sbrest.Client{Host: "shop-bus." + ServiceBusSuffix, HTTP: e.s.HTTPClient(), Cred: e.s.StaticCredential()}
}

func counts(t *testing.T, e *env, c *sbrest.Client, entity string) (int64, int64) {
	t.Helper()
	a, d, err := c.Counts(e.ctx, entity)
	if err != nil {
		t.Fatal(err)
	}
	return a, d
}

// TestServiceBusPeekLock: a peek-locked message is hidden from other receivers, carries its
// properties, delivery count and lock token; abandoning it counts a delivery, and the delivery
// that reaches MaxDeliveryCount dead-letters it into the entity dead letters are forwarded to;
// completing needs the lock it was given.
func TestServiceBusPeekLock(t *testing.T) {
	e, c := sbEnv(t, map[string]armservicebus.SBQueueProperties{
		"orders--dlq":   {},
		"orders--queue": {MaxDeliveryCount: to.Ptr[int32](2), ForwardDeadLetteredMessagesTo: to.Ptr("orders--dlq")},
	})
	if err := c.Send(e.ctx, "orders--queue", sbrest.Message{ID: "m1", Body: []byte(`{"a":1}`), ContentType: "application/json",
		Properties: map[string]string{"ce-id": `"e1"`, "attempt": "3"}}); err != nil {
		t.Fatal(err)
	}
	m, err := c.PeekLock(e.ctx, "orders--queue", 0)
	if err != nil || m == nil {
		t.Fatalf("PeekLock = %v, %v; want the message", m, err)
	}
	if id, _ := m.Text("ce-id"); m.ID != "m1" || string(m.Body) != `{"a":1}` || m.DeliveryCount != 1 || m.LockToken == "" || id != "e1" || m.ContentType != "application/json" {
		t.Errorf("received %+v; want m1 with its body, content type, ce-id e1, delivery 1 and a lock token", m)
	}
	if other, err := c.PeekLock(e.ctx, "orders--queue", 0); err != nil || other != nil {
		t.Errorf("a second receive got %+v, %v; want nothing while the message is locked", other, err)
	}
	if a, _ := counts(t, e, c, "orders--queue"); a != 1 {
		t.Errorf("active count %d while locked; want 1 (a locked message is active)", a)
	}
	wrong := *m
	wrong.LockToken = "00000000-0000-0000-0000-000000000000"
	if err := c.Complete(e.ctx, "orders--queue", &wrong); !sbrest.LockLost(err) {
		t.Errorf("Complete with a wrong lock = %v; want 404 (lock lost)", err)
	}
	if err := c.Abandon(e.ctx, "orders--queue", m); err != nil {
		t.Fatal(err)
	}
	m, err = c.PeekLock(e.ctx, "orders--queue", 0)
	if err != nil || m == nil || m.DeliveryCount != 2 {
		t.Fatalf("after an abandon: %+v, %v; want delivery 2", m, err)
	}
	if err := c.Abandon(e.ctx, "orders--queue", m); err != nil {
		t.Fatal(err)
	}
	if a, _ := counts(t, e, c, "orders--queue"); a != 0 {
		t.Errorf("the queue holds %d after MaxDeliveryCount deliveries; want 0", a)
	}
	d, err := c.PeekLock(e.ctx, "orders--dlq", 0)
	if err != nil || d == nil || d.ID != "m1" || d.DeliveryCount != 1 || d.DeadLetterSource != "orders--queue" {
		t.Fatalf("dead letter = %+v, %v; want m1 forwarded to orders--dlq from orders--queue", d, err)
	}
	if reason, _ := d.Text("DeadLetterReason"); reason != "MaxDeliveryCountExceeded" {
		t.Errorf("DeadLetterReason %q; want MaxDeliveryCountExceeded", reason)
	}
	if err := c.Complete(e.ctx, "orders--dlq", d); err != nil {
		t.Fatal(err)
	}
	if err := c.Complete(e.ctx, "orders--dlq", d); !sbrest.LockLost(err) {
		t.Errorf("completing twice = %v; want 404", err)
	}
	if a, _ := counts(t, e, c, "orders--dlq"); a != 0 {
		t.Errorf("the dead-letter queue holds %d after completing; want 0", a)
	}
}

// TestServiceBusLockExpiry: a lock that expires is an abandon: a receive waiting on the entity
// gets the message again when the lock duration ends, its delivery counted; the first holder's
// lock is lost. Without forwarding, dead letters stay in the entity's $DeadLetterQueue.
func TestServiceBusLockExpiry(t *testing.T) {
	e, c := sbEnv(t, map[string]armservicebus.SBQueueProperties{"jobs": {LockDuration: to.Ptr("PT5S"), MaxDeliveryCount: to.Ptr[int32](2)}})
	if err := c.Send(e.ctx, "jobs", sbrest.Message{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	first, err := c.PeekLock(e.ctx, "jobs", 0)
	if err != nil || first == nil || first.ID == "" {
		t.Fatalf("PeekLock = %+v, %v", first, err)
	}
	again, err := c.PeekLock(e.ctx, "jobs", 30*time.Second)
	if err != nil || again == nil || again.ID != first.ID || again.DeliveryCount != 2 {
		t.Fatalf("after the lock expired: %+v, %v; want the message again at delivery 2", again, err)
	}
	if err := c.Complete(e.ctx, "jobs", first); !sbrest.LockLost(err) {
		t.Errorf("completing with the expired lock = %v; want 404", err)
	}
	if err := c.Abandon(e.ctx, "jobs", again); err != nil {
		t.Fatal(err)
	}
	if a, d := counts(t, e, c, "jobs"); a != 0 || d != 1 {
		t.Errorf("counts %d active, %d dead-lettered; want 0 and 1", a, d)
	}
	dl, err := c.ReceiveAndDelete(e.ctx, "jobs/$DeadLetterQueue", 0)
	if err != nil || dl == nil || dl.ID != first.ID {
		t.Fatalf("from $DeadLetterQueue: %+v, %v; want the message", dl, err)
	}
	if _, d := counts(t, e, c, "jobs"); d != 0 {
		t.Errorf("dead letters %d after receive-and-delete; want 0", d)
	}
}

// TestServiceBusStatusAndTTL: a ReceiveDisabled queue takes messages and refuses receivers (403);
// a message outlives its time to live only as a dead letter, with deadLetteringOnMessageExpiration.
func TestServiceBusStatusAndTTL(t *testing.T) {
	e, c := sbEnv(t, map[string]armservicebus.SBQueueProperties{
		"paused":   {Status: to.Ptr(armservicebus.EntityStatusReceiveDisabled)},
		"brief":    {DefaultMessageTimeToLive: to.Ptr("PT1S")},
		"brief-dl": {DefaultMessageTimeToLive: to.Ptr("PT1S"), DeadLetteringOnMessageExpiration: to.Ptr(true)},
	})
	if err := c.Send(e.ctx, "paused", sbrest.Message{Body: []byte("x")}); err != nil {
		t.Fatalf("sending to a ReceiveDisabled queue: %v", err)
	}
	var se *sbrest.StatusError
	if _, err := c.PeekLock(e.ctx, "paused", 0); !asStatus(err, &se) || se.Status != http.StatusForbidden {
		t.Errorf("receiving from a ReceiveDisabled queue = %v; want 403", err)
	}
	if a, _ := counts(t, e, c, "paused"); a != 1 {
		t.Errorf("the paused queue holds %d; want the message waiting", a)
	}
	for _, q := range []string{"brief", "brief-dl"} {
		if err := c.Send(e.ctx, q, sbrest.Message{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	// A receive from the dead-letter sub-queue waits until the message expires into it.
	dl, err := c.PeekLock(e.ctx, "brief-dl/$DeadLetterQueue", 30*time.Second)
	if err != nil || dl == nil {
		t.Fatalf("the expired message in $DeadLetterQueue: %+v, %v", dl, err)
	}
	if reason, _ := dl.Text("DeadLetterReason"); reason != "TTLExpiredException" {
		t.Errorf("DeadLetterReason %q; want TTLExpiredException", reason)
	}
	if a, d := counts(t, e, c, "brief"); a != 0 || d != 0 {
		t.Errorf("brief: %d active, %d dead letters after expiry; want the message dropped", a, d)
	}
	if _, err := c.PeekLock(e.ctx, "nosuch", 0); !asStatus(err, &se) || se.Status != http.StatusGone {
		t.Errorf("receiving from a missing entity = %v; want 410", err)
	}
}

// TestServiceBusTopicFanOut: a message sent to a topic reaches the subscriptions whose rules take
// it, and a subscription is received from at <topic>/subscriptions/<name>.
func TestServiceBusTopicFanOut(t *testing.T) {
	e, c := sbEnv(t, nil)
	topics := must[*armservicebus.TopicsClient](t, "client")(armservicebus.NewTopicsClient(e.sub, e.cred, e.opts))
	if _, err := topics.CreateOrUpdate(e.ctx, e.rg, "shop-bus", "events", armservicebus.SBTopic{Properties: &armservicebus.SBTopicProperties{}}, nil); err != nil {
		t.Fatal(err)
	}
	subs := must[*armservicebus.SubscriptionsClient](t, "client")(armservicebus.NewSubscriptionsClient(e.sub, e.cred, e.opts))
	rules := must[*armservicebus.RulesClient](t, "client")(armservicebus.NewRulesClient(e.sub, e.cred, e.opts))
	for _, name := range []string{"all", "paid"} {
		if _, err := subs.CreateOrUpdate(e.ctx, e.rg, "shop-bus", "events", name, armservicebus.SBSubscription{Properties: &armservicebus.SBSubscriptionProperties{}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rules.CreateOrUpdate(e.ctx, e.rg, "shop-bus", "events", "paid", "only-paid", armservicebus.Rule{Properties: &armservicebus.Ruleproperties{
		FilterType: to.Ptr(armservicebus.FilterTypeSQLFilter), SQLFilter: &armservicebus.SQLFilter{SQLExpression: to.Ptr("type = 'order.paid'")}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rules.Delete(e.ctx, e.rg, "shop-bus", "events", "paid", "$Default", nil); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"order.paid", "order.created"} {
		if err := c.Send(e.ctx, "events", sbrest.Message{Body: []byte(typ), Properties: map[string]string{"type": `"` + typ + `"`}}); err != nil {
			t.Fatal(err)
		}
	}
	for sub, want := range map[string]int64{"all": 2, "paid": 1} {
		if a, _ := counts(t, e, c, "events/subscriptions/"+sub); a != want {
			t.Errorf("subscription %s holds %d; want %d", sub, a, want)
		}
	}
	m, err := c.PeekLock(e.ctx, "events/subscriptions/paid", 0)
	if err != nil || m == nil || string(m.Body) != "order.paid" {
		t.Fatalf("from the paid subscription: %+v, %v; want order.paid", m, err)
	}
	if err := c.Send(e.ctx, "events/subscriptions/paid", sbrest.Message{Body: []byte("x")}); err == nil {
		t.Error("sending to a subscription succeeded; Service Bus takes messages on queues and topics only")
	}
}

func asStatus(err error, se **sbrest.StatusError) bool {
	e, ok := err.(*sbrest.StatusError)
	*se = e
	return ok
}
