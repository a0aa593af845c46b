package azurefunctions

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// entity is what the driver sets on the queue or subscription it consumes.
type entity struct {
	LockS       int64  `json:"lock_s"`
	MaxDelivery int64  `json:"max_delivery"`
	ForwardDLQ  string `json:"forward_dlq"`
	Paused      bool   `json:"paused"`
}

func wantEntity(h *spec.Handler, dlq string) entity {
	return entity{LockS: h.Trigger.VisibilityTimeoutS, MaxDelivery: h.Retry.MaxAttempts, ForwardDLQ: dlq, Paused: h.Trigger.Paused}
}

func status(paused bool) *armservicebus.EntityStatus {
	if paused {
		return to.Ptr(armservicebus.EntityStatusReceiveDisabled)
	}
	return to.Ptr(armservicebus.EntityStatusActive)
}

func queueEntity(q *armservicebus.SBQueue) entity {
	p := q.Properties
	if p == nil {
		return entity{}
	}
	return entity{LockS: isoSeconds(p.LockDuration), MaxDelivery: int64(deref(p.MaxDeliveryCount)), ForwardDLQ: deref(p.ForwardDeadLetteredMessagesTo),
		Paused: p.Status != nil && *p.Status == armservicebus.EntityStatusReceiveDisabled}
}

func subEntity(s *armservicebus.SBSubscription) entity {
	p := s.Properties
	if p == nil {
		return entity{}
	}
	return entity{LockS: isoSeconds(p.LockDuration), MaxDelivery: int64(deref(p.MaxDeliveryCount)), ForwardDLQ: deref(p.ForwardDeadLetteredMessagesTo),
		Paused: p.Status != nil && *p.Status == armservicebus.EntityStatusReceiveDisabled}
}

func sameEntity(a, b entity) bool { return a == b }

// putQueue sets e on a queue, keeping its other properties.
func (d *Driver) putQueue(ctx context.Context, c driver.Component, id string, cur *armservicebus.SBQueue, e entity) error {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return fail(c, "parsing", id, err)
	}
	q := armservicebus.SBQueue{Properties: &armservicebus.SBQueueProperties{}}
	if cur != nil && cur.Properties != nil {
		q.Properties = cur.Properties
		q.Properties.CountDetails, q.Properties.AccessedAt, q.Properties.CreatedAt, q.Properties.UpdatedAt = nil, nil, nil, nil
		q.Properties.MessageCount, q.Properties.SizeInBytes = nil, nil
		// The maximum TimeSpan Service Bus reports for "never" is its default: leave it unset.
		for _, p := range []**string{&q.Properties.DefaultMessageTimeToLive, &q.Properties.AutoDeleteOnIdle} {
			if *p != nil && strings.HasPrefix(**p, "P10675199D") {
				*p = nil
			}
		}
	}
	q.Properties.LockDuration = isoDuration(e.LockS)
	q.Properties.MaxDeliveryCount = to.Ptr(int32(e.MaxDelivery))
	q.Properties.ForwardDeadLetteredMessagesTo = optional(e.ForwardDLQ)
	q.Properties.Status = status(e.Paused)
	_, err = d.queues.CreateOrUpdate(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, q, nil)
	return fail(c, action(cur != nil), id, err)
}

func (d *Driver) putSubscription(ctx context.Context, id, action string, e entity) (*armservicebus.SBSubscription, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fail(driver.Subscription, "parsing", id, err)
	}
	resp, err := d.subs.CreateOrUpdate(ctx, r.ResourceGroupName, r.Parent.Parent.Name, r.Parent.Name, r.Name, armservicebus.SBSubscription{
		Properties: &armservicebus.SBSubscriptionProperties{
			LockDuration: isoDuration(e.LockS), MaxDeliveryCount: to.Ptr(int32(e.MaxDelivery)),
			ForwardDeadLetteredMessagesTo: optional(e.ForwardDLQ), Status: status(e.Paused),
			DeadLetteringOnMessageExpiration: to.Ptr(false),
		}}, nil)
	if err != nil {
		return nil, fail(driver.Subscription, action, id, err)
	}
	return &resp.SBSubscription, nil
}

// dlqMaxDelivery is the dead-letter queue's MaxDeliveryCount, Service Bus's highest: every look at a
// dead letter (threefactor dlq list, a replay that fails) is a delivery, and at the default of 10 the
// queue would dead-letter its own letters into a sub-queue nobody reads.
const dlqMaxDelivery = 2000

// putDeadLetter writes the dead-letter queue: its TTL is the retention, and expiry drops messages.
func (d *Driver) putDeadLetter(ctx context.Context, id string, days int64) (*armservicebus.SBQueue, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fail(driver.DeadLetter, "parsing", id, err)
	}
	resp, err := d.queues.CreateOrUpdate(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, armservicebus.SBQueue{
		Properties: &armservicebus.SBQueueProperties{
			DefaultMessageTimeToLive:         to.Ptr(fmt.Sprintf("P%dD", days)),
			DeadLetteringOnMessageExpiration: to.Ptr(false),
			MaxDeliveryCount:                 to.Ptr[int32](dlqMaxDelivery),
		}}, nil)
	if err != nil {
		return nil, fail(driver.DeadLetter, "creating", id, err)
	}
	return &resp.SBQueue, nil
}

func (d *Driver) putTopic(ctx context.Context, id string) error {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return fail(driver.Topic, "parsing", id, err)
	}
	_, err = d.topics.CreateOrUpdate(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, armservicebus.SBTopic{Properties: &armservicebus.SBTopicProperties{}}, nil)
	return fail(driver.Topic, "creating", id, err)
}

func (d *Driver) readQueue(ctx context.Context, c driver.Component, id string) (*armservicebus.SBQueue, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fail(c, "parsing", id, err)
	}
	resp, err := d.queues.Get(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(c, "reading", id, err)
	}
	return &resp.SBQueue, nil
}

func (d *Driver) readTopic(ctx context.Context, id string) (bool, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return false, fail(driver.Topic, "parsing", id, err)
	}
	_, err = d.topics.Get(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, nil)
	ok, err := codes.Exists(err)
	return ok, fail(driver.Topic, "reading", id, err)
}

func (d *Driver) readSubscription(ctx context.Context, id string) (*armservicebus.SBSubscription, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fail(driver.Subscription, "parsing", id, err)
	}
	resp, err := d.subs.Get(ctx, r.ResourceGroupName, r.Parent.Parent.Name, r.Parent.Name, r.Name, nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Subscription, "reading", id, err)
	}
	return &resp.SBSubscription, nil
}

func (d *Driver) deleteEntity(ctx context.Context, c driver.Component, id string) error {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return fail(c, "parsing", id, err)
	}
	switch c {
	case driver.Topic:
		_, err = d.topics.Delete(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, nil)
	case driver.Subscription:
		_, err = d.subs.Delete(ctx, r.ResourceGroupName, r.Parent.Parent.Name, r.Parent.Name, r.Name, nil)
	default:
		_, err = d.queues.Delete(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, nil)
	}
	return fail(c, "deleting", id, codes.IgnoreNotFound(err))
}

// createNamespace makes a Standard namespace of the handler's (or a topic's) own, local (SAS) auth
// off; it also brings an existing one back to that.
func (d *Driver) createNamespace(ctx context.Context, c driver.Component, name string, tags map[string]*string) (string, error) {
	p, err := d.namespaces.BeginCreateOrUpdate(ctx, d.rg, name, armservicebus.SBNamespace{
		Location: &d.location, Tags: tags,
		SKU:        &armservicebus.SBSKU{Name: to.Ptr(armservicebus.SKUNameStandard), Tier: to.Ptr(armservicebus.SKUTierStandard)},
		Properties: &armservicebus.SBNamespaceProperties{DisableLocalAuth: to.Ptr(true)},
	}, nil)
	if err != nil {
		return "", fail(c, "creating", name, err)
	}
	// Once accepted, the namespace exists, even if its operation fails.
	_, err = p.PollUntilDone(ctx, d.pollOpts())
	return d.id("Microsoft.ServiceBus/namespaces", name), fail(c, "creating", name, polled(err))
}

func (d *Driver) readNamespace(ctx context.Context, id string) (*armservicebus.SBNamespace, error) {
	return d.readNamespaceOf(ctx, Namespace, id)
}

func (d *Driver) readNamespaceOf(ctx context.Context, c driver.Component, id string) (*armservicebus.SBNamespace, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fail(c, "parsing", id, err)
	}
	resp, err := d.namespaces.Get(ctx, r.ResourceGroupName, r.Name, nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(c, "reading", id, err)
	}
	return &resp.SBNamespace, nil
}

func (d *Driver) deleteNamespace(ctx context.Context, id string) error {
	return d.deleteNamespaceOf(ctx, Namespace, id)
}

func (d *Driver) deleteNamespaceOf(ctx context.Context, c driver.Component, id string) error {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return fail(c, "parsing", id, err)
	}
	p, err := d.namespaces.BeginDelete(ctx, r.ResourceGroupName, r.Name, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, d.pollOpts())
	}
	return fail(c, "deleting", id, codes.IgnoreNotFound(err))
}

var isoRE = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// isoSeconds parses an ISO 8601 duration as Service Bus writes it, in whole seconds.
func isoSeconds(s *string) int64 {
	if s == nil {
		return 0
	}
	m := isoRE.FindStringSubmatch(*s)
	if m == nil {
		return 0
	}
	var total float64
	for i, unit := range []float64{86400, 3600, 60, 1} {
		if m[i+1] != "" {
			v, _ := strconv.ParseFloat(m[i+1], 64)
			total += v * unit
		}
	}
	return int64(total)
}

func isoDuration(s int64) *string {
	return to.Ptr(fmt.Sprintf("PT%dS", s))
}

// hms is a duration as the Functions host's settings take it.
func hms(s int64) string {
	d := time.Duration(s) * time.Second
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// sbHost is a namespace's fully qualified name.
func sbHost(namespaceID string) string {
	return strings.ToLower(lastPart(namespaceID)) + ".servicebus.windows.net"
}
