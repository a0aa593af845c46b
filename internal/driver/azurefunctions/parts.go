package azurefunctions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// TopicTag and TableTag name, on a topic's namespace and on a table's container (and its own
// account), the threefactor_topic or threefactor_table it belongs to: namespaces and Cosmos
// accounts have globally unique names, and only one that carries the tag is the provider's.
const (
	TopicTag = TagPrefix + "topic"
	TableTag = TagPrefix + "table"
)

// cosmosTTLAttribute is the one item property Cosmos DB expires an item by: seconds after its last
// write, where the container's DefaultTTL is set (-1: on, items without ttl never expire).
const cosmosTTLAttribute = "ttl"

var _ driver.Parts = (*Driver)(nil)

// Topics implements driver.Parts: a Service Bus topic in a Standard namespace of its own (topics
// carry no tags, the namespace does), which every handler subscribed to it uses for its
// subscription and dead-letter queue instead of a namespace of its own.
func (d *Driver) Topics() driver.Part[spec.AppTopic] { return topics{d} }

// Tables implements driver.Parts: a Cosmos DB container in the provider's cosmos_account, or in a
// serverless account of the table's own.
func (d *Driver) Tables() driver.Part[spec.AppTable] { return tables{d} }

// partTags are a part's tags: the user's and the reserved one naming the part.
func partTags(user map[string]string, key, name string) map[string]*string {
	out := make(map[string]*string, len(user)+1)
	for k, v := range user {
		out[k] = &v
	}
	out[key] = &name
	return out
}

type topics struct{ d *Driver }

// topicID is the id of the topic named name: in the namespace "<name>-<hash>".
func (d *Driver) topicID(name string) string {
	return d.id("Microsoft.ServiceBus/namespaces", name+"-"+spec.ShortHash(d.sub, d.rg, d.location, "topic", name)) + "/topics/" + name
}

func (p topics) Apply(ctx context.Context, t *spec.AppTopic, id string) (string, error) {
	d := p.d
	creating := id == ""
	if creating {
		id = d.topicID(t.Name)
	}
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return "", fail(driver.AppTopic, "parsing", id, err)
	}
	nsID, tags := sourceNamespace(id), partTags(t.Tags, TopicTag, t.Name)
	ns, err := d.readNamespaceOf(ctx, driver.AppTopic, nsID)
	if err != nil {
		return "", err
	}
	cur, err := d.topics.Get(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, nil)
	found, err := codes.Exists(err)
	switch {
	case err != nil:
		return "", fail(driver.AppTopic, "reading", id, err)
	case ns != nil && tagValue(ns.Tags, TopicTag) != t.Name:
		return "", driver.Errorf(driver.AppTopic, "creating", t.Name, driver.AlreadyExists, fmt.Errorf(
			"the namespace %s exists and belongs to no threefactor_topic named %q: choose another name, or import it (%s) to manage it", nsID, t.Name, d.ImportID(t.Name)))
	case found && creating:
		// Another configuration's topic of the same name: its namespace's name derives from it.
		return "", driver.Errorf(driver.AppTopic, "creating", t.Name, driver.AlreadyExists, fmt.Errorf(
			"the topic %s exists already: import it (%s) to manage it here, or choose another name", id, d.ImportID(t.Name)))
	case ns == nil || !sameTags(ns.Tags, tags) || !localAuthOff(ns.Properties):
		if _, err := d.createNamespace(ctx, driver.AppTopic, lastPart(nsID), tags); err != nil {
			if exists(err) {
				return id, err
			}
			return "", err
		}
	}
	if found && cur.Properties != nil && isoSeconds(cur.Properties.DefaultMessageTimeToLive) == t.RetentionDays*86400 {
		return id, nil
	}
	_, err = d.topics.CreateOrUpdate(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, armservicebus.SBTopic{Properties: &armservicebus.SBTopicProperties{
		DefaultMessageTimeToLive: to.Ptr(fmt.Sprintf("P%dD", t.RetentionDays)),
	}}, nil)
	return id, fail(driver.AppTopic, "creating", id, err)
}

func (p topics) Read(ctx context.Context, id string) (*driver.ObservedPart[spec.AppTopic], error) {
	d := p.d
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fail(driver.AppTopic, "parsing", id, err)
	}
	cur, err := d.topics.Get(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.AppTopic, "reading", id, err)
	}
	ns, err := d.readNamespaceOf(ctx, driver.AppTopic, sourceNamespace(id))
	if err != nil || ns == nil {
		return nil, err
	}
	days := int64(0)
	if cur.Properties != nil {
		days = isoSeconds(cur.Properties.DefaultMessageTimeToLive) / 86400
	}
	return &driver.ObservedPart[spec.AppTopic]{
		Spec: spec.AppTopic{Name: r.Name, Cloud: Name, RetentionDays: days, Tags: userTags(ns.Tags)},
		// Service Bus encrypts every entity at rest (Microsoft-managed keys unless a Premium
		// namespace is given a key of the customer's).
		Encrypted: true, ID: id, Target: sbHost(sourceNamespace(id)) + "/" + r.Name,
	}, nil
}

// Delete refuses while the topic has subscriptions or its namespace holds queues: deleting the
// namespace deletes them, and the handlers of other configurations behind them would stop
// receiving events without a word. A namespace that is not the topic's own is left.
func (p topics) Delete(ctx context.Context, id string, force bool) error {
	d := p.d
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return fail(driver.AppTopic, "parsing", id, err)
	}
	nsID := sourceNamespace(id)
	ns, err := d.readNamespaceOf(ctx, driver.AppTopic, nsID)
	if err != nil || ns == nil {
		return err
	}
	if !force {
		var users []string
		subs := d.subs.NewListByTopicPager(r.ResourceGroupName, r.Parent.Name, r.Name, nil)
		for subs.More() {
			page, err := subs.NextPage(ctx)
			if codes.NotFound(err) {
				break
			}
			if err != nil {
				return fail(driver.AppTopic, "listing the subscriptions of", id, err)
			}
			for _, s := range page.Value {
				users = append(users, "subscription "+deref(s.Name))
			}
		}
		queues := d.queues.NewListByNamespacePager(r.ResourceGroupName, r.Parent.Name, nil)
		for queues.More() {
			page, err := queues.NextPage(ctx)
			if err != nil {
				return fail(driver.AppTopic, "listing the queues beside", id, err)
			}
			for _, q := range page.Value {
				users = append(users, "queue "+deref(q.Name))
			}
		}
		if len(users) > 0 {
			return driver.Errorf(driver.AppTopic, "deleting", id, driver.FailedPrecondition, fmt.Errorf(
				"its namespace still holds %s, which this configuration does not manage: deleting the topic deletes them, and their handlers "+
					"would silently stop receiving events. Remove those subscribers first, or set force_destroy = true", strings.Join(users, ", ")))
		}
	}
	if tagValue(ns.Tags, TopicTag) != r.Name {
		return d.deleteEntity(ctx, driver.AppTopic, id)
	}
	return d.deleteNamespaceOf(ctx, driver.AppTopic, nsID)
}

func (p topics) Locate(ctx context.Context, name string) (string, error) {
	id := p.d.topicID(name)
	r, _ := arm.ParseResourceID(id)
	_, err := p.d.topics.Get(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, nil)
	if err != nil {
		return "", fail(driver.AppTopic, "finding", id, err)
	}
	return id, nil
}

func (p topics) ImportID(name string) string { return p.d.ImportID(name) }

type tables struct{ d *Driver }

// tableID is the id of the table named name: container <name> of database <name>_table (a name no
// handler's database has: handler names take no underscore), in the provider's cosmos_account or
// the table's own "<name>-<hash>".
func (d *Driver) tableID(name string) string {
	account := d.sharedCosmos
	if account == "" {
		account = d.tableAccount(name)
	}
	return account + "/sqlDatabases/" + name + "_table/containers/" + name
}

func (d *Driver) tableAccount(name string) string {
	return d.id("Microsoft.DocumentDB/databaseAccounts", name+"-"+spec.ShortHash(d.sub, d.rg, d.location, "table", name))
}

// containerOf splits a container id into its resource group, account id, database and container.
func containerOf(id string) (rg, account, database, container string, err error) {
	r, err := arm.ParseResourceID(id)
	if err != nil || r.Parent == nil || r.Parent.Parent == nil || !strings.EqualFold(r.ResourceType.String(), "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers") {
		return "", "", "", "", fmt.Errorf("%q is not the ARM id of a Cosmos DB SQL container", id)
	}
	account, _, _ = strings.Cut(id, "/sqlDatabases/")
	return r.ResourceGroupName, account, r.Parent.Name, r.Name, nil
}

// ownAccount reports whether account is the table's own, which goes with it.
func (d *Driver) ownAccount(account, table string) bool {
	return strings.EqualFold(account, d.tableAccount(table))
}

func (p tables) Apply(ctx context.Context, t *spec.AppTable, id string) (string, error) {
	d := p.d
	creating := id == ""
	if creating {
		id = d.tableID(t.Name)
	}
	rg, account, database, container, err := containerOf(id)
	if err != nil {
		return "", driver.Errorf(driver.AppTable, "parsing", id, driver.InvalidArgument, err)
	}
	tags := partTags(t.Tags, TableTag, t.Name)
	own := d.ownAccount(account, t.Name)
	var acct *armcosmos.DatabaseAccountGetResults
	if own {
		if acct, err = d.readCosmosOf(ctx, driver.AppTable, account); err != nil {
			return "", err
		}
	}
	cur, err := d.sql.GetSQLContainer(ctx, rg, lastPart(account), database, container, nil)
	found, err := codes.Exists(err)
	switch {
	case err != nil:
		return "", fail(driver.AppTable, "reading", id, err)
	case acct != nil && tagValue(acct.Tags, TableTag) != t.Name:
		return "", driver.Errorf(driver.AppTable, "creating", t.Name, driver.AlreadyExists, fmt.Errorf(
			"the Cosmos DB account %s exists and belongs to no threefactor_table named %q: choose another name, or import it (%s) to manage it", account, t.Name, d.ImportID(t.Name)))
	case found && creating:
		// Another configuration's table of the same name: its container's name is the table's.
		return "", driver.Errorf(driver.AppTable, "creating", t.Name, driver.AlreadyExists, fmt.Errorf(
			"the container %s exists already: import it (%s) to manage it here, or choose another name", id, d.ImportID(t.Name)))
	}
	made := ""
	if own && (acct == nil || !sameTags(acct.Tags, tags) || acct.Properties == nil || !deref(acct.Properties.DisableLocalAuth)) {
		if _, err := d.createCosmos(ctx, driver.AppTable, lastPart(account), tags); err != nil {
			if exists(err) {
				return id, err
			}
			return "", err
		}
		made = id
	}
	want := "/" + t.Key
	if found {
		if have := containerKey(&cur.SQLContainerGetResults); have != want {
			return id, driver.Errorf(driver.AppTable, "updating", id, driver.InvalidArgument,
				fmt.Errorf("its key is %q, not %q: a table's key cannot change in place", strings.TrimPrefix(have, "/"), t.Key))
		}
		if (containerTTL(&cur.SQLContainerGetResults) != 0) == (t.TTLAttribute != "") && sameTags(cur.Tags, tags) {
			return id, nil
		}
	} else {
		p, err := d.sql.BeginCreateUpdateSQLDatabase(ctx, rg, lastPart(account), database, armcosmos.SQLDatabaseCreateUpdateParameters{
			Properties: &armcosmos.SQLDatabaseCreateUpdateProperties{Resource: &armcosmos.SQLDatabaseResource{ID: &database}}}, nil)
		if err != nil {
			return made, fail(driver.AppTable, "creating", account+"/sqlDatabases/"+database, err)
		}
		// The database exists from here: every later return names it, so delete can remove it.
		if _, err = p.PollUntilDone(ctx, d.pollOpts()); err != nil {
			return id, fail(driver.AppTable, "creating", account+"/sqlDatabases/"+database, polled(err))
		}
	}
	res := &armcosmos.SQLContainerResource{
		ID:           &container,
		PartitionKey: &armcosmos.ContainerPartitionKey{Paths: []*string{&want}, Kind: to.Ptr(armcosmos.PartitionKindHash)},
	}
	if t.TTLAttribute != "" {
		res.DefaultTTL = to.Ptr[int32](-1)
	}
	poller, err := d.sql.BeginCreateUpdateSQLContainer(ctx, rg, lastPart(account), database, container, armcosmos.SQLContainerCreateUpdateParameters{
		Tags: tags, Properties: &armcosmos.SQLContainerCreateUpdateProperties{Resource: res}}, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, d.pollOpts())
		err = polled(err)
	}
	return id, fail(driver.AppTable, action(found), id, err)
}

func containerKey(c *armcosmos.SQLContainerGetResults) string {
	if c.Properties == nil || c.Properties.Resource == nil || c.Properties.Resource.PartitionKey == nil || len(c.Properties.Resource.PartitionKey.Paths) != 1 {
		return ""
	}
	return deref(c.Properties.Resource.PartitionKey.Paths[0])
}

func (p tables) Read(ctx context.Context, id string) (*driver.ObservedPart[spec.AppTable], error) {
	rg, account, database, container, err := containerOf(id)
	if err != nil {
		return nil, driver.Errorf(driver.AppTable, "parsing", id, driver.InvalidArgument, err)
	}
	cur, err := p.d.sql.GetSQLContainer(ctx, rg, lastPart(account), database, container, nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.AppTable, "reading", id, err)
	}
	c := &cur.SQLContainerGetResults
	t := spec.AppTable{Name: container, Cloud: Name, Key: strings.TrimPrefix(containerKey(c), "/"), Tags: userTags(c.Tags)}
	if containerTTL(c) != 0 {
		t.TTLAttribute = cosmosTTLAttribute
	}
	// Cosmos DB encrypts all data at rest (service-managed keys unless the account has its own).
	return &driver.ObservedPart[spec.AppTable]{Spec: t, Encrypted: true, ID: id}, nil
}

// Delete refuses while the container holds items: the Document Count usage Cosmos DB reports for
// the container (through Resource Manager, so the provider needs no data-plane role; it can lag a
// few minutes behind writes). The table's own account goes with it; in a shared account its
// database does.
func (p tables) Delete(ctx context.Context, id string, force bool) error {
	d := p.d
	rg, account, database, container, err := containerOf(id)
	if err != nil {
		return driver.Errorf(driver.AppTable, "parsing", id, driver.InvalidArgument, err)
	}
	if !force {
		n, err := d.itemCount(ctx, rg, lastPart(account), database, container)
		if err != nil {
			return fail(driver.AppTable, "checking for items in", id, err)
		}
		if n > 0 {
			return driver.Errorf(driver.AppTable, "deleting", id, driver.FailedPrecondition, fmt.Errorf(
				"it holds %d item(s), which would be lost: empty it first, or set force_destroy = true to delete them with it", n))
		}
	}
	if d.ownAccount(account, container) {
		return d.deleteCosmos(ctx, driver.AppTable, account)
	}
	poller, err := d.sql.BeginDeleteSQLDatabase(ctx, rg, lastPart(account), database, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, d.pollOpts())
	}
	return fail(driver.AppTable, "deleting", id, codes.IgnoreNotFound(err))
}

// documentCount is the usage of a container that counts its items.
const documentCount = "Document Count"

// itemCount is the container's Document Count usage; 0 when the container is gone.
func (d *Driver) itemCount(ctx context.Context, rg, account, database, container string) (int64, error) {
	db, err := d.sql.GetSQLDatabase(ctx, rg, account, database, nil)
	if codes.NotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	c, err := d.sql.GetSQLContainer(ctx, rg, account, database, container, nil)
	if codes.NotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	dbRID, cRID := "", ""
	if db.Properties != nil && db.Properties.Resource != nil {
		dbRID = deref(db.Properties.Resource.Rid)
	}
	if c.Properties != nil && c.Properties.Resource != nil {
		cRID = deref(c.Properties.Resource.Rid)
	}
	if dbRID == "" || cRID == "" {
		return 0, errors.New("no resource id (_rid) reported for the Cosmos DB database or container")
	}
	pages := d.collections.NewListUsagesPager(rg, account, dbRID, cRID, &armcosmos.CollectionClientListUsagesOptions{
		Filter: to.Ptr("name.value eq '" + documentCount + "'")})
	for pages.More() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for _, u := range page.Value {
			if u.Name != nil && deref(u.Name.Value) == documentCount {
				return deref(u.CurrentValue), nil
			}
		}
	}
	return 0, fmt.Errorf("no %q usage reported for the Cosmos DB container", documentCount)
}

func (p tables) Locate(ctx context.Context, name string) (string, error) {
	id := p.d.tableID(name)
	rg, account, database, container, _ := containerOf(id)
	_, err := p.d.sql.GetSQLContainer(ctx, rg, lastPart(account), database, container, nil)
	if err != nil {
		return "", fail(driver.AppTable, "finding", id, err)
	}
	return id, nil
}

func (p tables) ImportID(name string) string { return p.d.ImportID(name) }
