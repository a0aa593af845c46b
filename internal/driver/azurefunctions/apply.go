package azurefunctions

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Apply implements driver.Driver. On an existing state it reads every component first (as Read
// does) and writes only what differs. Components are made in four rounds, each waiting for the
// previous one:
//
//	identity, storage account (and deployment container), Service Bus namespace, Cosmos DB
//	account, Log Analytics workspace
//	dedup database and container, dead-letter queue, the handler's own topic, the Application
//	Insights component
//	queue or subscription (forwarding dead letters to the dead-letter queue), Storage Blob Data
//	Owner, the Cosmos DB SQL role assignment, Monitoring Metrics Publisher, the Flex Consumption plan
//	Service Bus Data Receiver on the queue or subscription, the function app and its code
func (d *Driver) Apply(ctx context.Context, h *spec.Handler, code *driver.Code, st driver.State) (driver.State, driver.Outputs, error) {
	final, err := plumbing.Apply(st, owned, &seen{}, func(st driver.State) (*seen, []driver.Component, error) { return d.see(ctx, st) },
		func(l *plumbing.Ledger, cur *seen) error { return d.apply(ctx, h, code, l, cur) })
	return final, d.outputs(final), err
}

// wantNamespace is the namespace the handler uses and whether it owns it.
func (d *Driver) wantNamespace(h *spec.Handler, n names) (string, bool) {
	if h.Trigger.Source != "" {
		return sourceNamespace(h.Trigger.Source), false
	}
	if d.sharedNamespace != "" {
		return d.sharedNamespace, false
	}
	return d.id("Microsoft.ServiceBus/namespaces", n.Namespace), true
}

// sourceNamespace is the namespace id of a queue's or topic's ARM id.
func sourceNamespace(source string) string {
	i := strings.LastIndex(strings.ToLower(source), "/queues/")
	if j := strings.LastIndex(strings.ToLower(source), "/topics/"); j > i {
		i = j
	}
	return source[:max(i, 0)]
}

func (d *Driver) apply(ctx context.Context, h *spec.Handler, code *driver.Code, l *plumbing.Ledger, cur *seen) error {
	n := d.names(h.Name)
	tags := tagsFor(h.Tags, h.Name)
	nsID, ownNS := d.wantNamespace(h, n)
	// A new source in another namespace moves the handler there (dead letters are forwarded within
	// one namespace only): the namespace it leaves is kept under keyNamespacePrev until the move is
	// done, then deleted if the handler owned it.
	if prev := l.Get(string(Namespace)); prev != "" && !strings.EqualFold(prev, nsID) {
		if l.Get(keyNamespaceShared) == "" {
			l.Set(keyNamespacePrev, prev)
		}
		l.Set(keyNamespaceShared, "")
		l.Set(string(Namespace), "")
		cur.namespace = nil
	}

	err := plumbing.Concurrently(
		func() error {
			if cur.identity != nil && sameTags(cur.identity.Tags, tags) {
				return nil
			}
			mi, err := d.putIdentity(ctx, n.Identity, tags)
			if err != nil {
				return err
			}
			l.Set(string(driver.Identity), deref(mi.ID))
			if mi.Properties != nil {
				l.Set(keyClientID, deref(mi.Properties.ClientID))
				l.Set(keyPrincipalID, deref(mi.Properties.PrincipalID))
			}
			return nil
		},
		func() error {
			if cur.storage != nil && !cur.storage.drifted(tags) {
				return nil
			}
			id, err := d.createStorage(ctx, n.Storage, tags)
			if id != "" {
				l.Set(string(StorageAccount), id)
			}
			return err
		},
		func() error {
			if cur.namespace != nil && (l.Get(keyNamespaceShared) != "" || (sameTags(cur.namespace.Tags, tags) && localAuthOff(cur.namespace.Properties))) {
				return nil
			}
			if !ownNS {
				l.Set(string(Namespace), nsID)
				l.Set(keyNamespaceShared, "true")
				return nil
			}
			id, err := d.createNamespace(ctx, Namespace, n.Namespace, tags)
			if id != "" {
				l.Set(string(Namespace), id)
			}
			return err
		},
		func() error {
			if cur.cosmos != nil && (l.Get(keyCosmosShared) != "" || (sameTags(cur.cosmos.Tags, tags) && cur.cosmos.Properties != nil && deref(cur.cosmos.Properties.DisableLocalAuth))) {
				return nil
			}
			if d.sharedCosmos != "" {
				l.Set(string(CosmosAccount), d.sharedCosmos)
				l.Set(keyCosmosShared, "true")
				return nil
			}
			id, err := d.createCosmos(ctx, CosmosAccount, n.Cosmos, tags)
			if id != "" {
				l.Set(string(CosmosAccount), id)
			}
			return err
		},
		func() error {
			if cur.workspace != nil && workspaceRetention(cur.workspace) == h.Function.LogRetentionDays && !cur.workspace.drifted(tags) {
				return nil
			}
			id, err := d.putWorkspace(ctx, action(cur.workspace != nil), n.Workspace, h.Function.LogRetentionDays, tags)
			if exists(err) {
				l.Set(string(Workspace), id)
			}
			return err
		},
	)
	if err != nil {
		return err
	}
	nsID = l.Get(string(Namespace))
	cosmosID, identityID, principal := l.Get(string(CosmosAccount)), l.Get(string(driver.Identity)), l.Get(keyPrincipalID)
	dlqID := nsID + "/queues/" + n.DeadLetter
	topicID := ""
	if h.Trigger.Kind == spec.Topic && h.Trigger.Source == "" {
		topicID = nsID + "/topics/" + n.Topic
	}

	oldDLQ := ""
	if q := l.Get(string(driver.DeadLetter)); q != "" && !strings.EqualFold(q, dlqID) {
		oldDLQ, cur.dlq = q, nil
	}
	insights := cur.insights.connectionString()
	err = plumbing.Concurrently(
		func() error {
			workspaceID := l.Get(string(Workspace))
			if cur.insights != nil && !cur.insights.drifted(workspaceID, tags) {
				return nil
			}
			c, err := d.putInsights(ctx, action(cur.insights != nil), n.Insights, workspaceID, tags)
			if err != nil {
				return err
			}
			l.Set(string(driver.Logs), deref(c.ID))
			insights = c.connectionString()
			return nil
		},
		func() error {
			if cur.dedup != nil && containerTTL(cur.dedup) == h.Dedup.TTLS {
				return nil
			}
			id, err := d.putDedup(ctx, cosmosID, n.Database, h.Dedup.TTLS, cur.dedup == nil)
			if id != "" {
				l.Set(string(driver.DedupTable), id)
			}
			return err
		},
		func() error {
			if cur.dlq != nil && retentionDays(cur.dlq) == h.DeadLetter.RetentionDays && !dlqDrifted(cur.dlq) {
				return nil
			}
			_, err := d.putDeadLetter(ctx, dlqID, h.DeadLetter.RetentionDays)
			if err == nil {
				l.Set(string(driver.DeadLetter), dlqID)
			}
			return err
		},
		func() error {
			if topicID == "" || cur.topic {
				return nil
			}
			err := d.putTopic(ctx, topicID)
			if err == nil {
				l.Set(string(driver.Topic), topicID)
			}
			return err
		},
	)
	if err != nil {
		return err
	}

	// The trigger entity: the handler's own queue, the adopted queue, or a subscription.
	entityID := ""
	switch {
	case h.Trigger.Kind == spec.Queue && h.Trigger.Source != "":
		entityID = h.Trigger.Source
	case h.Trigger.Kind == spec.Queue:
		entityID = nsID + "/queues/" + n.Queue
	case h.Trigger.Source != "":
		entityID = h.Trigger.Source + "/subscriptions/" + n.Subscription
	default:
		entityID = topicID + "/subscriptions/" + n.Subscription
	}
	// A swapped trigger: what fed the handler before goes first (the plan warned of it).
	if err := d.release(ctx, l, cur, entityID, topicID); err != nil {
		return err
	}

	dedupID := l.Get(string(driver.DedupTable))
	want := wantEntity(h, n.DeadLetter)
	err = plumbing.Concurrently(
		func() error {
			if h.Trigger.Kind == spec.Queue {
				return d.applyQueue(ctx, l, cur, h, entityID, want)
			}
			rules := cur.rules
			if cur.sub == nil || !sameEntity(subEntity(cur.sub), want) {
				if _, err := d.putSubscription(ctx, entityID, action(cur.sub != nil), want); err != nil {
					return err
				}
				l.Set(string(driver.Subscription), entityID)
				if h.Trigger.Source != "" {
					l.Set(keyTopicSource, h.Trigger.Source)
				}
				if cur.sub == nil {
					rules = map[string]string{defaultRule: defaultRuleExpr} // what a new subscription starts with
				}
			}
			return d.applyRules(ctx, entityID, rules, h.Trigger.Filter)
		},
		func() error {
			if cur.storageGrant {
				return nil
			}
			id, err := d.assign(ctx, StorageGrant, l.Get(string(StorageAccount)), principal, roleBlobOwner)
			if err == nil {
				l.Set(string(StorageGrant), id)
			}
			return err
		},
		func() error {
			if cur.dedupGrant {
				return nil
			}
			account, database := splitDedup(dedupID)
			id, err := d.assignSQL(ctx, DedupGrant, account, containerScope(account, database, dedupContainer), principal, cosmosDataContributor)
			if exists(err) {
				l.Set(string(DedupGrant), id)
			}
			return err
		},
		func() error { return d.applyTableGrants(ctx, l, cur, h.Function.Tables, principal) },
		func() error {
			if cur.metricsGrant {
				return nil
			}
			id, err := d.assign(ctx, MetricsGrant, l.Get(string(driver.Logs)), principal, roleMetricsPublisher)
			if err == nil {
				l.Set(string(MetricsGrant), id)
			}
			return err
		},
		func() error {
			if cur.plan != nil {
				return nil
			}
			id, err := d.createPlan(ctx, n.Plan, tags)
			if exists(err) {
				l.Set(string(Plan), id)
			}
			return err
		},
	)
	if err != nil {
		return err
	}

	if oldDLQ != "" {
		if err := d.deleteEntity(ctx, driver.DeadLetter, oldDLQ); err != nil {
			return err
		}
	}
	if prev := l.Get(keyNamespacePrev); prev != "" {
		if err := d.deleteNamespace(ctx, prev); err != nil {
			return err
		}
		l.Set(keyNamespacePrev, "")
	}

	w := wiring{clientID: l.Get(keyClientID), identityID: identityID, storage: lastPart(l.Get(string(StorageAccount))), namespace: nsID,
		cosmos: cosmosID, database: n.Database, queue: lastPart(entityID), topic: lastPart(topicID), subscription: n.Subscription,
		insights: insights, source: h.Trigger.Source, sourcePrior: l.Get(keyQueuePrev)}
	if h.Trigger.Source != "" && h.Trigger.Kind == spec.Topic {
		w.topic = lastPart(h.Trigger.Source)
	}
	return plumbing.Concurrently(
		func() error {
			if cur.receiver && strings.HasPrefix(strings.ToLower(l.Get(string(ReceiverGrant))), strings.ToLower(entityID)+"/providers/") {
				return nil
			}
			id, err := d.assign(ctx, ReceiverGrant, entityID, principal, roleServiceBusReceiver)
			if err == nil {
				l.Set(string(ReceiverGrant), id)
			}
			return err
		},
		func() error { return d.applyFunction(ctx, h, code, l, cur, n, w) },
	)
}

// release deletes (or, if adopted, restores) the trigger entities the handler no longer reads,
// with the receiver's role assignment on them.
func (d *Driver) release(ctx context.Context, l *plumbing.Ledger, cur *seen, entityID, topicID string) error {
	same := func(id string) bool { return strings.EqualFold(id, entityID) }
	if g := l.Get(string(ReceiverGrant)); g != "" && !strings.HasPrefix(strings.ToLower(g), strings.ToLower(entityID)+"/providers/") {
		if err := d.deleteAssignment(ctx, ReceiverGrant, g); err != nil {
			return err
		}
		l.Forget(ReceiverGrant)
		cur.receiver = false
	}
	if q := l.Get(string(driver.Queue)); q != "" && !same(q) {
		if err := d.releaseQueue(ctx, q, l.Get(keyQueueSource) != "", l.Get(keyQueuePrev)); err != nil {
			return err
		}
		l.Forget(driver.Queue)
		cur.queue = nil
	}
	if s := l.Get(string(driver.Subscription)); s != "" && !same(s) {
		if err := d.deleteEntity(ctx, driver.Subscription, s); err != nil {
			return err
		}
		l.Forget(driver.Subscription)
		cur.sub = nil
	}
	if t := l.Get(string(driver.Topic)); t != "" && !strings.EqualFold(t, topicID) {
		if err := d.deleteEntity(ctx, driver.Topic, t); err != nil {
			return err
		}
		l.Forget(driver.Topic)
		cur.topic = false
	}
	return nil
}

// applyQueue brings the handler's queue to want; an adopted queue's settings are saved first.
func (d *Driver) applyQueue(ctx context.Context, l *plumbing.Ledger, cur *seen, h *spec.Handler, id string, want entity) error {
	q := cur.queue
	if h.Trigger.Source != "" && l.Get(string(driver.Queue)) == "" {
		var err error
		if q, err = d.readQueue(ctx, driver.Queue, id); err != nil {
			return err
		}
		if q == nil {
			return driver.Errorf(driver.Queue, "adopting", id, driver.NotFound, errors.New("trigger.source does not exist"))
		}
		prev, _ := json.Marshal(queueEntity(q))
		l.Set(string(driver.Queue), id)
		l.Set(keyQueueSource, id)
		l.Set(keyQueuePrev, string(prev))
	}
	if q != nil && sameEntity(queueEntity(q), want) {
		return nil
	}
	if err := d.putQueue(ctx, driver.Queue, id, q, want); err != nil {
		return err
	}
	l.Set(string(driver.Queue), id)
	return nil
}

// releaseQueue deletes the handler's own queue, or restores an adopted one's settings.
func (d *Driver) releaseQueue(ctx context.Context, id string, adopted bool, prev string) error {
	if !adopted {
		return d.deleteEntity(ctx, driver.Queue, id)
	}
	q, err := d.readQueue(ctx, driver.Queue, id)
	if err != nil || q == nil {
		return err
	}
	e := queueEntity(q)
	if prev == "" {
		// Imported: what it had before is unknown; the handler's forwarding and pause come off.
		e.ForwardDLQ, e.Paused = "", false
	} else if err := json.Unmarshal([]byte(prev), &e); err != nil {
		return driver.Errorf(driver.Queue, "restoring", id, driver.Unknown, err)
	}
	return d.putQueue(ctx, driver.Queue, id, q, e)
}

// applyFunction creates the function app and publishes its code, or brings it to the handler's
// settings. The code hash is written to the app settings only once a publish has succeeded, so a
// failed publish leaves the old hash for Read and the next apply publishes again.
func (d *Driver) applyFunction(ctx context.Context, h *spec.Handler, code *driver.Code, l *plumbing.Ledger, cur *seen, n names, w wiring) error {
	settings := appSettings(h, w)
	planID := l.Get(string(Plan))
	if cur.site == nil {
		if code == nil {
			return driver.Errorf(driver.Function, "creating", n.Site, driver.InvalidArgument, errors.New("no code package was given"))
		}
		err := retryPropagation(ctx, func() error {
			return d.putSite(ctx, n.Site, d.site(h, planID, w, settings))
		})
		if exists(err) {
			l.Set(string(driver.Function), d.id("Microsoft.Web/sites", n.Site))
		}
		if err != nil {
			return fail(driver.Function, "creating", n.Site, err)
		}
		if err := d.disableBasicAuth(ctx, n.Site); err != nil {
			return err
		}
		if err := d.publish(ctx, h, n.Site, code.Zip); err != nil {
			return err
		}
		settings[settingCodeHash] = code.Hash
		return d.putSettings(ctx, n.Site, settings)
	}
	s := cur.site
	settings[settingCodeHash] = s.settings[settingCodeHash]
	if siteDiffers(s, d.site(h, planID, w, nil)) {
		if err := d.putSite(ctx, n.Site, d.site(h, planID, w, settings)); err != nil {
			return fail(driver.Function, "updating", n.Site, err)
		}
	}
	if s.ftpAllowed || s.scmAll {
		if err := d.disableBasicAuth(ctx, n.Site); err != nil {
			return err
		}
	}
	if !maps.Equal(s.settings, settings) {
		if err := d.putSettings(ctx, n.Site, settings); err != nil {
			return err
		}
	}
	if code == nil || code.Hash == s.settings[settingCodeHash] {
		return nil
	}
	if err := d.publish(ctx, h, n.Site, code.Zip); err != nil {
		return err
	}
	settings[settingCodeHash] = code.Hash
	return d.putSettings(ctx, n.Site, settings)
}

// action is what a write does: create what is not there, update what is.
func action(exists bool) string {
	if exists {
		return "updating"
	}
	return "creating"
}
