package azurefunctions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Locate implements driver.Driver. Every component is found by the name the handler's name
// derives (the globally unique ones carry the hash of the subscription, group and location), the
// role assignments by their derived GUIDs; the function app's settings name an adopted source, in
// any resource group, and the settings an adopted queue had before, which destroy restores.
// Without a function app the identity, tagged with the handler's name, stands in for it.
func (d *Driver) Locate(ctx context.Context, name string) (driver.State, error) {
	n := d.names(name)
	l := plumbing.NewLedger(driver.State{}, owned)
	identityID := d.id("Microsoft.ManagedIdentity/userAssignedIdentities", n.Identity)
	siteID := d.id("Microsoft.Web/sites", n.Site)
	mi, err := d.readIdentity(ctx, identityID)
	if err != nil {
		return nil, err
	}
	site, err := d.readSite(ctx, siteID)
	if err != nil {
		return nil, err
	}
	if site == nil && (mi == nil || tagValue(mi.Tags, HandlerTag) != name) {
		return nil, driver.Errorf(driver.Function, "finding", name, driver.NotFound, errors.New("no such function app in resource group "+d.rg))
	}
	principal := ""
	if mi != nil {
		l.Set(string(driver.Identity), deref(mi.ID))
		if mi.Properties != nil {
			principal = deref(mi.Properties.PrincipalID)
			l.Set(keyClientID, deref(mi.Properties.ClientID))
			l.Set(keyPrincipalID, principal)
		}
	}
	if site != nil {
		l.Set(string(driver.Function), siteID)
	}
	// The namespace: the handler's own, or the one its settings name (shared or the source's).
	nsID := d.id("Microsoft.ServiceBus/namespaces", n.Namespace)
	ns, err := d.readNamespace(ctx, nsID)
	if err != nil {
		return nil, err
	}
	switch {
	case ns != nil:
		l.Set(string(Namespace), nsID)
	case d.sharedNamespace != "":
		nsID = d.sharedNamespace
		l.Set(string(Namespace), nsID)
		l.Set(keyNamespaceShared, "true")
	default:
		nsID = ""
	}
	// An adopted source's namespace: the one of THREEFACTOR_SOURCE, or, from an app written before
	// that setting, the one its Service Bus connection names, in the handler's resource group.
	source := ""
	if site != nil && sourceRE.MatchString(site.settings[settingSource]) {
		source = site.settings[settingSource]
		nsID = sourceNamespace(source)
		l.Set(string(Namespace), nsID)
		l.Set(keyNamespaceShared, "true")
	} else if site != nil {
		if host := site.settings[settingConnection+"__fullyQualifiedNamespace"]; host != "" {
			name, _, _ := strings.Cut(host, ".")
			if !strings.EqualFold(name, lastPart(nsID)) || nsID == "" {
				id := d.id("Microsoft.ServiceBus/namespaces", name)
				other, err := d.readNamespace(ctx, id)
				if err != nil {
					return nil, err
				}
				if other != nil {
					nsID = id
					l.Set(string(Namespace), nsID)
					l.Set(keyNamespaceShared, "true")
				}
			}
		}
	}
	cosmosID := d.id("Microsoft.DocumentDB/databaseAccounts", n.Cosmos)
	if d.sharedCosmos != "" {
		cosmosID = d.sharedCosmos
		l.Set(string(CosmosAccount), cosmosID)
		l.Set(keyCosmosShared, "true")
	}
	found := func(c driver.Component, id string, read func() (bool, error)) func() error {
		return func() error {
			if id == "" {
				return nil
			}
			ok, err := read()
			if ok {
				l.Set(string(c), id)
			}
			return err
		}
	}
	storageID := d.id("Microsoft.Storage/storageAccounts", n.Storage)
	workspaceID := d.id("Microsoft.OperationalInsights/workspaces", n.Workspace)
	insightsID := d.id("Microsoft.Insights/components", n.Insights)
	dedup := dedupID(cosmosID, n.Database)
	queueID, topicID := nsID+"/queues/"+n.Queue, nsID+"/topics/"+n.Topic
	subID := topicID + "/subscriptions/" + n.Subscription
	switch {
	case source != "" && strings.Contains(strings.ToLower(source), "/queues/"):
		queueID = source
		l.Set(keyQueueSource, source)
		l.Set(keyQueuePrev, site.settings[settingSourcePrior])
	case source != "":
		subID = source + "/subscriptions/" + n.Subscription
		l.Set(keyTopicSource, source)
	case site != nil:
		if q := site.settings[settingQueue]; q != "" && !strings.EqualFold(q, n.Queue) && nsID != "" {
			// An adopted queue of an app written before THREEFACTOR_SOURCE: its settings before
			// adoption are not known, so destroy only takes the handler's forwarding and pause off it.
			queueID = nsID + "/queues/" + q
			l.Set(keyQueueSource, queueID)
		}
		if t := site.settings[settingTopic]; t != "" && !strings.EqualFold(t, n.Topic) && nsID != "" {
			subID = nsID + "/topics/" + t + "/subscriptions/" + n.Subscription
			l.Set(keyTopicSource, nsID+"/topics/"+t)
		}
	}
	if nsID == "" {
		queueID, topicID, subID = "", "", ""
	}
	grant := func(c driver.Component, scope, role string) func() error {
		if principal == "" {
			return func() error { return nil }
		}
		id := scope + "/providers/Microsoft.Authorization/roleAssignments/" + assignmentName(scope, principal, role)
		return found(c, id, func() (bool, error) { return d.readAssignment(ctx, c, id) })
	}
	err = plumbing.Concurrently(
		found(StorageAccount, storageID, func() (bool, error) { s, err := d.readStorage(ctx, storageID); return s != nil, err }),
		found(CosmosAccount, cosmosID, func() (bool, error) {
			if d.sharedCosmos != "" {
				return true, nil
			}
			c, err := d.readCosmos(ctx, cosmosID)
			return c != nil, err
		}),
		found(driver.DedupTable, dedup, func() (bool, error) { c, err := d.readDedup(ctx, dedup); return c != nil, err }),
		found(driver.DeadLetter, nsOr(nsID, "/queues/"+n.DeadLetter), func() (bool, error) {
			q, err := d.readQueue(ctx, driver.DeadLetter, nsID+"/queues/"+n.DeadLetter)
			return q != nil, err
		}),
		found(driver.Queue, queueID, func() (bool, error) { q, err := d.readQueue(ctx, driver.Queue, queueID); return q != nil, err }),
		found(driver.Topic, topicID, func() (bool, error) { return d.readTopic(ctx, topicID) }),
		found(driver.Subscription, subID, func() (bool, error) { s, err := d.readSubscription(ctx, subID); return s != nil, err }),
		found(Plan, d.id("Microsoft.Web/serverfarms", n.Plan), func() (bool, error) {
			p, err := d.readPlan(ctx, d.id("Microsoft.Web/serverfarms", n.Plan))
			return p != nil, err
		}),
		grant(StorageGrant, storageID, roleBlobOwner),
		found(Workspace, workspaceID, func() (bool, error) { w, err := d.readWorkspace(ctx, workspaceID); return w != nil, err }),
		found(driver.Logs, insightsID, func() (bool, error) { c, err := d.readInsights(ctx, insightsID); return c != nil, err }),
		grant(MetricsGrant, insightsID, roleMetricsPublisher),
		func() error {
			if principal == "" {
				return nil
			}
			id := sqlAssignmentID(cosmosID, containerScope(cosmosID, n.Database, dedupContainer), principal, cosmosDataContributor)
			return found(DedupGrant, id, func() (bool, error) { return d.readSQLAssignment(ctx, DedupGrant, id) })()
		},
	)
	if err != nil {
		return nil, err
	}
	for _, c := range []driver.Component{driver.Queue, driver.Subscription} {
		if scope := l.Get(string(c)); scope != "" {
			if err := grant(ReceiverGrant, scope, roleServiceBusReceiver)(); err != nil {
				return nil, err
			}
		}
	}
	if site != nil && principal != "" {
		grants, err := d.locateTableGrants(ctx, site.settings, principal)
		if err != nil {
			return nil, err
		}
		l.Set(keyTableGrants, encodeGrants(grants))
	}
	return l.Snapshot(), nil
}

// locateTableGrants finds the table grants of the app's THREEFACTOR_TABLE_<NAME> settings: the
// container their URL names, in the provider's cosmos_account or an account of the resource group,
// and the SQL role assignment of either access level the identity holds on it.
func (d *Driver) locateTableGrants(ctx context.Context, settings map[string]string, principal string) (map[string]tableGrant, error) {
	grants := map[string]tableGrant{}
	for k, v := range settings {
		name, ok := strings.CutPrefix(k, spec.EnvTablePrefix)
		host, path, _ := strings.Cut(strings.TrimPrefix(v, "cosmos://"), "/")
		database, container, _ := strings.Cut(path, "/")
		if !ok || !strings.HasPrefix(v, "cosmos://") || container == "" {
			continue
		}
		account := d.id("Microsoft.DocumentDB/databaseAccounts", strings.TrimSuffix(host, ".documents.azure.com"))
		if d.sharedCosmos != "" && strings.EqualFold(lastPart(d.sharedCosmos), lastPart(account)) {
			account = d.sharedCosmos
		}
		table := account + "/sqlDatabases/" + database + "/containers/" + container
		for _, access := range []spec.Access{spec.ReadWrite, spec.Read} {
			id, err := grantAssignment(spec.TableGrant{TableID: table, Access: access}, principal)
			if err != nil {
				break
			}
			if ok, err := d.readSQLAssignment(ctx, driver.Function, id); err != nil {
				return nil, err
			} else if ok {
				grants[strings.ToLower(name)] = tableGrant{Table: table, Assignment: id}
				break
			}
		}
	}
	return grants, nil
}

func nsOr(ns, suffix string) string {
	if ns == "" {
		return ""
	}
	return ns + suffix
}

// Check implements driver.Driver: an existing trigger source must exist.
func (d *Driver) Check(ctx context.Context, h *spec.Handler) []spec.Problem {
	src := h.Trigger.Source
	if src == "" || !sourceRE.MatchString(src) {
		return nil // spec.Validate reports a malformed source
	}
	var err error
	var ok bool
	if h.Trigger.Kind == spec.Queue {
		q, qerr := d.readQueue(ctx, driver.Queue, src)
		ok, err = q != nil, qerr
	} else {
		ok, err = d.readTopic(ctx, src)
	}
	problem := func(warning bool, summary, detail string) []spec.Problem {
		return []spec.Problem{{Path: []string{"trigger", "source"}, Warning: warning, Summary: summary, Detail: detail}}
	}
	switch {
	case err != nil:
		return problem(true, "Trigger source not checked", fmt.Sprintf("Could not check that trigger.source %q exists: %v", src, err))
	case !ok:
		return problem(false, "Trigger source not found", fmt.Sprintf("trigger.source %q does not exist: create it first, or leave trigger.source unset to let the provider create one.", src))
	}
	return nil
}
