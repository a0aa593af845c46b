package azurefunctions

import (
	"context"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// seen is what one read of the recorded components found; a nil field is a component that is gone
// or not recorded.
type seen struct {
	identity                           *armmsi.Identity
	storage                            *storageSeen
	namespace                          *armservicebus.SBNamespace
	cosmos                             *armcosmos.DatabaseAccountGetResults
	dedup                              *armcosmos.SQLContainerGetResults
	dlq, queue                         *armservicebus.SBQueue
	topic                              bool
	sub                                *armservicebus.SBSubscription
	receiver, storageGrant, dedupGrant bool
	metricsGrant                       bool
	// tableGrants: whether each recorded table grant's assignment exists, by name.
	tableGrants map[string]bool
	// rules are the subscription's rules (name to SQL expression).
	rules     map[string]string
	workspace *workspace
	insights  *insightsComponent
	plan      *webPlan
	site      *siteSeen
}

// see reads every component st records, concurrently, once each (the function app with its app
// settings and its two publishing policies, the storage account with its deployment container).
func (d *Driver) see(ctx context.Context, st driver.State) (*seen, []driver.Component, error) {
	s := &seen{}
	reads := plumbing.NewReads(st)
	read := reads.Add
	read(driver.Identity, func(id string) (_ bool, err error) {
		s.identity, err = d.readIdentity(ctx, id)
		return s.identity != nil, err
	})
	read(StorageAccount, func(id string) (_ bool, err error) {
		s.storage, err = d.readStorage(ctx, id)
		return s.storage != nil, err
	})
	read(Namespace, func(id string) (_ bool, err error) {
		s.namespace, err = d.readNamespace(ctx, id)
		return s.namespace != nil, err
	})
	read(CosmosAccount, func(id string) (_ bool, err error) {
		s.cosmos, err = d.readCosmos(ctx, id)
		return s.cosmos != nil, err
	})
	read(Workspace, func(id string) (_ bool, err error) {
		s.workspace, err = d.readWorkspace(ctx, id)
		return s.workspace != nil, err
	})
	read(driver.Logs, func(id string) (_ bool, err error) {
		s.insights, err = d.readInsights(ctx, id)
		return s.insights != nil, err
	})
	read(MetricsGrant, func(id string) (_ bool, err error) {
		s.metricsGrant, err = d.readAssignment(ctx, MetricsGrant, id)
		return s.metricsGrant, err
	})
	read(driver.DedupTable, func(id string) (_ bool, err error) {
		s.dedup, err = d.readDedup(ctx, id)
		return s.dedup != nil, err
	})
	read(driver.DeadLetter, func(id string) (_ bool, err error) {
		s.dlq, err = d.readQueue(ctx, driver.DeadLetter, id)
		return s.dlq != nil, err
	})
	read(driver.Topic, func(id string) (_ bool, err error) {
		s.topic, err = d.readTopic(ctx, id)
		return s.topic, err
	})
	read(driver.Queue, func(id string) (_ bool, err error) {
		s.queue, err = d.readQueue(ctx, driver.Queue, id)
		return s.queue != nil, err
	})
	read(driver.Subscription, func(id string) (_ bool, err error) {
		if s.sub, err = d.readSubscription(ctx, id); s.sub == nil || err != nil {
			return false, err
		}
		s.rules, err = d.readRules(ctx, id)
		return true, err
	})
	read(ReceiverGrant, func(id string) (_ bool, err error) {
		s.receiver, err = d.readAssignment(ctx, ReceiverGrant, id)
		return s.receiver, err
	})
	read(StorageGrant, func(id string) (_ bool, err error) {
		s.storageGrant, err = d.readAssignment(ctx, StorageGrant, id)
		return s.storageGrant, err
	})
	read(DedupGrant, func(id string) (_ bool, err error) {
		s.dedupGrant, err = d.readSQLAssignment(ctx, DedupGrant, id)
		return s.dedupGrant, err
	})
	read(Plan, func(id string) (_ bool, err error) {
		s.plan, err = d.readPlan(ctx, id)
		return s.plan != nil, err
	})
	read(driver.Function, func(id string) (_ bool, err error) {
		s.site, err = d.readSite(ctx, id)
		return s.site != nil, err
	})
	missing, err := reads.Run(order)
	if err != nil {
		return s, missing, err
	}
	grants := tableGrantsOf(st[keyTableGrants])
	s.tableGrants = map[string]bool{}
	var fs []func() error
	var mu sync.Mutex
	for name, g := range grants {
		fs = append(fs, func() error {
			ok, err := d.readSQLAssignment(ctx, driver.Function, g.Assignment)
			mu.Lock()
			s.tableGrants[name] = ok
			mu.Unlock()
			return err
		})
	}
	return s, missing, plumbing.Concurrently(fs...)
}

// Read implements driver.Driver.
func (d *Driver) Read(ctx context.Context, st driver.State) (*driver.Observed, error) {
	s, missing, err := d.see(ctx, st)
	if err != nil {
		return nil, err
	}
	left := st.Clone()
	for _, c := range missing {
		owned.Forget(left, c)
	}
	h := d.handlerOf(left, s)
	return &driver.Observed{Handler: h, State: left, Missing: missing, Outputs: d.outputs(left), Drifted: d.drifted(left, s, &h)}, nil
}

// handlerOf rebuilds the handler from what Azure holds.
func (d *Driver) handlerOf(st driver.State, s *seen) spec.Handler {
	h := spec.Handler{Name: lastPart(st.Get(driver.Identity)), Cloud: Name}
	switch {
	case st.Has(driver.Queue):
		h.Trigger.Kind, h.Trigger.Source = spec.Queue, st[keyQueueSource]
	case st.Has(driver.Subscription):
		h.Trigger.Kind, h.Trigger.Source = spec.Topic, st[keyTopicSource]
	}
	if h.Name == "" {
		if f := st.Get(driver.Function); f != "" {
			h.Name = lastPart(f)[:strings.LastIndex(lastPart(f), "-")]
		}
	}
	var e *entity
	if s.queue != nil {
		qe := queueEntity(s.queue)
		e = &qe
	} else if s.sub != nil {
		se := subEntity(s.sub)
		e = &se
	}
	if e != nil {
		h.Trigger.BatchSize = 1
		h.Trigger.VisibilityTimeoutS = e.LockS
		h.Trigger.Paused = e.Paused
		h.Retry.MaxAttempts = e.MaxDelivery
	}
	if s.dlq != nil {
		h.DeadLetter.RetentionDays = retentionDays(s.dlq)
	}
	if s.site != nil {
		functionOf(&h, s.site)
	}
	if s.sub != nil {
		h.Trigger.Filter, _ = filterOfRules(s.rules)
	}
	for name, g := range tableGrantsOf(st[keyTableGrants]) {
		if strings.HasSuffix(name, replacedSuffix) {
			continue
		}
		if h.Function.Tables == nil {
			h.Function.Tables = map[string]spec.TableGrant{}
		}
		tg := spec.TableGrant{TableID: g.Table}
		if s.tableGrants[name] {
			tg.Access = accessOf(g, st[keyPrincipalID])
		}
		h.Function.Tables[name] = tg
	}
	if s.dedup != nil {
		h.Dedup.TTLS = containerTTL(s.dedup)
	}
	if s.workspace != nil {
		h.Function.LogRetentionDays = workspaceRetention(s.workspace)
	}
	return h
}

// drifted lists the components present whose settings differ from what Apply makes in ways the
// handler cannot show: safe defaults turned off, wiring, tags.
func (d *Driver) drifted(st driver.State, s *seen, h *spec.Handler) []driver.Component {
	var out []driver.Component
	mark := func(c driver.Component, drifted bool) {
		if drifted {
			out = append(out, c)
		}
	}
	tags := tagsFor(h.Tags, h.Name)
	if s.identity != nil {
		mark(driver.Identity, !sameTags(s.identity.Tags, tags))
	}
	if s.storage != nil {
		mark(StorageAccount, s.storage.drifted(tags))
	}
	if s.namespace != nil && st[keyNamespaceShared] == "" {
		mark(Namespace, !sameTags(s.namespace.Tags, tags) || !localAuthOff(s.namespace.Properties))
	}
	if s.cosmos != nil && st[keyCosmosShared] == "" {
		mark(CosmosAccount, !sameTags(s.cosmos.Tags, tags) || s.cosmos.Properties == nil || !deref(s.cosmos.Properties.DisableLocalAuth))
	}
	if s.workspace != nil {
		mark(Workspace, s.workspace.drifted(tags))
	}
	if s.insights != nil {
		mark(driver.Logs, s.insights.drifted(st.Get(Workspace), tags))
	}
	if s.dlq != nil {
		mark(driver.DeadLetter, dlqDrifted(s.dlq))
	}
	dlq := lastPart(st.Get(driver.DeadLetter))
	if s.queue != nil {
		mark(driver.Queue, dlq != "" && !strings.EqualFold(queueEntity(s.queue).ForwardDLQ, dlq))
	}
	if s.sub != nil {
		_, ours := filterOfRules(s.rules)
		mark(driver.Subscription, !ours || dlq != "" && !strings.EqualFold(subEntity(s.sub).ForwardDLQ, dlq))
	}
	if f := s.site; f != nil {
		want := d.injectedFor(st, h, s.insights.connectionString())
		wrong := f.ftpAllowed || f.scmAll || f.site.Properties == nil || !deref(f.site.Properties.HTTPSOnly)
		for k, v := range want {
			wrong = wrong || f.settings[k] != v
		}
		if id := st.Get(driver.Identity); id != "" {
			wrong = wrong || f.site.Identity == nil || !hasIdentity(f.site.Identity.UserAssignedIdentities, id)
		}
		for name := range tableGrantsOf(st[keyTableGrants]) {
			wrong = wrong || strings.HasSuffix(name, replacedSuffix)
		}
		mark(driver.Function, wrong)
	}
	return plumbing.SortComponents(out, order)
}

// injectedFor is the settings the driver writes, as the state's components name them (and insights,
// the Application Insights component's connection string).
func (d *Driver) injectedFor(st driver.State, h *spec.Handler, insights string) map[string]string {
	n := d.names(h.Name)
	_, database := splitDedup(st.Get(driver.DedupTable))
	w := wiring{clientID: st[keyClientID], identityID: st.Get(driver.Identity), storage: lastPart(st.Get(StorageAccount)),
		namespace: st.Get(Namespace), cosmos: st.Get(CosmosAccount), database: database, queue: lastPart(st.Get(driver.Queue)),
		topic: lastPart(consumed(st)), subscription: n.Subscription, insights: insights,
		source: st[keyQueueSource] + st[keyTopicSource], sourcePrior: st[keyQueuePrev]}
	m := injected(h, w)
	for k := range m {
		// What a missing component would name is recreated with it.
		if m[k] == "" || k == settingInsightsAuth && (insights == "" || w.clientID == "") || strings.HasSuffix(m[k], ".servicebus.windows.net") && w.namespace == "" || k == spec.EnvDedupStore && database == "" {
			delete(m, k)
		}
	}
	return m
}

func hasIdentity(ids map[string]map[string]any, id string) bool {
	for k := range ids {
		if strings.EqualFold(k, id) {
			return true
		}
	}
	return false
}

func localAuthOff(p *armservicebus.SBNamespaceProperties) bool {
	return p != nil && deref(p.DisableLocalAuth)
}

func containerTTL(c *armcosmos.SQLContainerGetResults) int64 {
	if c.Properties == nil || c.Properties.Resource == nil {
		return 0
	}
	return int64(deref(c.Properties.Resource.DefaultTTL))
}

// dlqDrifted reports a dead-letter queue whose MaxDeliveryCount is not dlqMaxDelivery.
func dlqDrifted(q *armservicebus.SBQueue) bool {
	return q.Properties == nil || deref(q.Properties.MaxDeliveryCount) != dlqMaxDelivery
}

func retentionDays(q *armservicebus.SBQueue) int64 {
	if q.Properties == nil {
		return 0
	}
	return isoSeconds(q.Properties.DefaultMessageTimeToLive) / 86400
}

// siteDiffers reports whether the app's settings held in the site itself differ from want's.
func siteDiffers(s *siteSeen, want site) bool {
	have := s.site
	if have.Properties == nil || have.Properties.FunctionAppConfig == nil || !deref(have.Properties.HTTPSOnly) || have.Identity == nil {
		return true
	}
	hc, wc := have.Properties.FunctionAppConfig, want.Properties.FunctionAppConfig
	if neutralRuntime(hc.Runtime) != neutralRuntime(wc.Runtime) || hc.ScaleAndConcurrency == nil {
		return true
	}
	hs, ws := hc.ScaleAndConcurrency, wc.ScaleAndConcurrency
	if deref(hs.InstanceMemoryMB) != deref(ws.InstanceMemoryMB) || (ws.MaximumInstanceCount != nil && deref(hs.MaximumInstanceCount) != deref(ws.MaximumInstanceCount)) {
		return true
	}
	if ws.MaximumInstanceCount == nil && deref(hs.MaximumInstanceCount) != defaultMaxInstances {
		return true
	}
	for id := range want.Identity.UserAssignedIdentities {
		if !hasIdentity(have.Identity.UserAssignedIdentities, id) {
			return true
		}
	}
	return !sameTags(have.Tags, want.Tags)
}
