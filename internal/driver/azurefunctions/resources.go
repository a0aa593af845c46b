package azurefunctions

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// Role definitions the handler's identity is granted.
const (
	roleServiceBusReceiver = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0" // Azure Service Bus Data Receiver
	roleBlobOwner          = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b" // Storage Blob Data Owner
	cosmosDataReader       = "00000000-0000-0000-0000-000000000001" // Cosmos DB Built-in Data Reader
	cosmosDataContributor  = "00000000-0000-0000-0000-000000000002" // Cosmos DB Built-in Data Contributor
)

func (d *Driver) id(typ, name string) string {
	return "/subscriptions/" + d.sub + "/resourceGroups/" + d.rg + "/providers/" + typ + "/" + name
}

func (d *Driver) pollOpts() *runtime.PollUntilDoneOptions {
	return &runtime.PollUntilDoneOptions{Frequency: d.poll}
}

// Identity.

func (d *Driver) putIdentity(ctx context.Context, name string, tags map[string]*string) (*armmsi.Identity, error) {
	resp, err := d.identities.CreateOrUpdate(ctx, d.rg, name, armmsi.Identity{Location: &d.location, Tags: tags}, nil)
	if err != nil {
		return nil, fail(driver.Identity, "creating", name, err)
	}
	return &resp.Identity, nil
}

func (d *Driver) readIdentity(ctx context.Context, id string) (*armmsi.Identity, error) {
	resp, err := d.identities.Get(ctx, d.rgOf(id), lastPart(id), nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Identity, "reading", id, err)
	}
	return &resp.Identity, nil
}

func (d *Driver) deleteIdentity(ctx context.Context, id string) error {
	_, err := d.identities.Delete(ctx, d.rgOf(id), lastPart(id), nil)
	return fail(driver.Identity, "deleting", id, codes.IgnoreNotFound(err))
}

func (d *Driver) rgOf(id string) string {
	if r, err := arm.ParseResourceID(id); err == nil {
		return r.ResourceGroupName
	}
	return d.rg
}

// Storage account, with shared-key access off, TLS 1.2 and HTTPS only, and its deployment container.

func (d *Driver) storageParams(tags map[string]*string) armstorage.AccountCreateParameters {
	return armstorage.AccountCreateParameters{
		Location: &d.location, Tags: tags, Kind: to.Ptr(armstorage.KindStorageV2),
		SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		Properties: &armstorage.AccountPropertiesCreateParameters{
			AllowSharedKeyAccess: to.Ptr(false), AllowBlobPublicAccess: to.Ptr(false),
			MinimumTLSVersion: to.Ptr(armstorage.MinimumTLSVersionTLS12), EnableHTTPSTrafficOnly: to.Ptr(true),
		},
	}
}

func (d *Driver) createStorage(ctx context.Context, name string, tags map[string]*string) (string, error) {
	id := d.id("Microsoft.Storage/storageAccounts", name)
	p, err := d.accounts.BeginCreate(ctx, d.rg, name, d.storageParams(tags), nil)
	if err != nil {
		return "", fail(StorageAccount, "creating", name, err)
	}
	if _, err = p.PollUntilDone(ctx, d.pollOpts()); err != nil {
		return id, fail(StorageAccount, "creating", name, polled(err))
	}
	return id, d.putContainer(ctx, id)
}

func (d *Driver) putContainer(ctx context.Context, id string) error {
	_, err := d.containers.Create(ctx, d.rgOf(id), lastPart(id), deployContainer, armstorage.BlobContainer{
		ContainerProperties: &armstorage.ContainerProperties{PublicAccess: to.Ptr(armstorage.PublicAccessNone)}}, nil)
	return fail(StorageAccount, "creating the deployment container of", id, err)
}

// storageSeen is the account and whether its deployment container exists.
type storageSeen struct {
	account   *armstorage.Account
	container bool
}

func (d *Driver) readStorage(ctx context.Context, id string) (*storageSeen, error) {
	resp, err := d.accounts.GetProperties(ctx, d.rgOf(id), lastPart(id), nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(StorageAccount, "reading", id, err)
	}
	s := &storageSeen{account: &resp.Account}
	_, err = d.containers.Get(ctx, d.rgOf(id), lastPart(id), deployContainer, nil)
	if s.container, err = codes.Exists(err); err != nil {
		return nil, fail(StorageAccount, "reading the deployment container of", id, err)
	}
	return s, nil
}

func (s *storageSeen) drifted(tags map[string]*string) bool {
	p := s.account.Properties
	return p == nil || deref(p.AllowSharedKeyAccess) || deref(p.AllowBlobPublicAccess) || !deref(p.EnableHTTPSTrafficOnly) ||
		deref(p.MinimumTLSVersion) != armstorage.MinimumTLSVersionTLS12 || !sameTags(s.account.Tags, tags) || !s.container
}

func (d *Driver) deleteStorage(ctx context.Context, id string) error {
	_, err := d.accounts.Delete(ctx, d.rgOf(id), lastPart(id), nil)
	return fail(StorageAccount, "deleting", id, codes.IgnoreNotFound(err))
}

// Cosmos DB: a serverless account with local (key) auth off, a database per handler and its
// dedup container (partition key /pk, DefaultTTL the dedup TTL).

func (d *Driver) createCosmos(ctx context.Context, c driver.Component, name string, tags map[string]*string) (string, error) {
	p, err := d.cosmos.BeginCreateOrUpdate(ctx, d.rg, name, armcosmos.DatabaseAccountCreateUpdateParameters{
		Location: &d.location, Tags: tags, Kind: to.Ptr(armcosmos.DatabaseAccountKindGlobalDocumentDB),
		Properties: &armcosmos.DatabaseAccountCreateUpdateProperties{
			DatabaseAccountOfferType: to.Ptr("Standard"),
			Locations:                []*armcosmos.Location{{LocationName: &d.location, FailoverPriority: to.Ptr[int32](0)}},
			Capabilities:             []*armcosmos.Capability{{Name: to.Ptr("EnableServerless")}},
			DisableLocalAuth:         to.Ptr(true),
			MinimalTLSVersion:        to.Ptr(armcosmos.MinimalTLSVersionTls12),
		},
	}, nil)
	if err != nil {
		return "", fail(c, "creating", name, err)
	}
	_, err = p.PollUntilDone(ctx, d.pollOpts())
	return d.id("Microsoft.DocumentDB/databaseAccounts", name), fail(c, "creating", name, polled(err))
}

func (d *Driver) readCosmos(ctx context.Context, id string) (*armcosmos.DatabaseAccountGetResults, error) {
	return d.readCosmosOf(ctx, CosmosAccount, id)
}

func (d *Driver) readCosmosOf(ctx context.Context, c driver.Component, id string) (*armcosmos.DatabaseAccountGetResults, error) {
	resp, err := d.cosmos.Get(ctx, d.rgOf(id), lastPart(id), nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(c, "reading", id, err)
	}
	return &resp.DatabaseAccountGetResults, nil
}

func (d *Driver) deleteCosmos(ctx context.Context, c driver.Component, id string) error {
	p, err := d.cosmos.BeginDelete(ctx, d.rgOf(id), lastPart(id), nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, d.pollOpts())
	}
	return fail(c, "deleting", id, codes.IgnoreNotFound(err))
}

// dedupID is the container's id: <account id>/sqlDatabases/<db>/containers/<container>.
func dedupID(account, database string) string {
	return account + "/sqlDatabases/" + database + "/containers/" + dedupContainer
}

// splitDedup returns the account id and database of a dedup container id.
func splitDedup(id string) (account, database string) {
	account, rest, _ := strings.Cut(id, "/sqlDatabases/")
	database, _, _ = strings.Cut(rest, "/")
	return account, database
}

func (d *Driver) putDedup(ctx context.Context, account, database string, ttl int64, withDatabase bool) (string, error) {
	id := dedupID(account, database)
	rg, acct := d.rgOf(account), lastPart(account)
	if withDatabase {
		p, err := d.sql.BeginCreateUpdateSQLDatabase(ctx, rg, acct, database, armcosmos.SQLDatabaseCreateUpdateParameters{
			Properties: &armcosmos.SQLDatabaseCreateUpdateProperties{Resource: &armcosmos.SQLDatabaseResource{ID: &database}}}, nil)
		if err != nil {
			return "", fail(driver.DedupTable, "creating", account+"/sqlDatabases/"+database, err)
		}
		if _, err = p.PollUntilDone(ctx, d.pollOpts()); err != nil {
			return id, fail(driver.DedupTable, "creating", account+"/sqlDatabases/"+database, polled(err))
		}
	}
	p, err := d.sql.BeginCreateUpdateSQLContainer(ctx, rg, acct, database, dedupContainer, armcosmos.SQLContainerCreateUpdateParameters{
		Properties: &armcosmos.SQLContainerCreateUpdateProperties{Resource: &armcosmos.SQLContainerResource{
			ID: to.Ptr(dedupContainer), DefaultTTL: to.Ptr(int32(ttl)),
			PartitionKey: &armcosmos.ContainerPartitionKey{Paths: []*string{to.Ptr(partitionKey)}, Kind: to.Ptr(armcosmos.PartitionKindHash)},
		}}}, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, d.pollOpts())
	}
	// The database exists: whatever became of the container, the id lets delete remove both.
	return id, fail(driver.DedupTable, action(!withDatabase), id, polled(err))
}

// readDedup returns the container, nil when it or its database is gone.
func (d *Driver) readDedup(ctx context.Context, id string) (*armcosmos.SQLContainerGetResults, error) {
	account, database := splitDedup(id)
	resp, err := d.sql.GetSQLContainer(ctx, d.rgOf(account), lastPart(account), database, dedupContainer, nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.DedupTable, "reading", id, err)
	}
	return &resp.SQLContainerGetResults, nil
}

func (d *Driver) deleteDedup(ctx context.Context, id string) error {
	account, database := splitDedup(id)
	p, err := d.sql.BeginDeleteSQLDatabase(ctx, d.rgOf(account), lastPart(account), database, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, d.pollOpts())
	}
	return fail(driver.DedupTable, "deleting", id, codes.IgnoreNotFound(err))
}

// Role assignments (Azure RBAC), principalType ServicePrincipal so a new identity is accepted at
// once; their ids are <scope>/providers/Microsoft.Authorization/roleAssignments/<guid>.

func (d *Driver) assign(ctx context.Context, c driver.Component, scope, principal, role string) (string, error) {
	name := assignmentName(scope, principal, role)
	id := scope + "/providers/Microsoft.Authorization/roleAssignments/" + name
	err := retryPropagation(ctx, func() error {
		_, err := d.assignments.Create(ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{
			Properties: &armauthorization.RoleAssignmentProperties{
				PrincipalID: &principal, PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
				RoleDefinitionID: to.Ptr("/subscriptions/" + d.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role),
			}}, nil)
		if codeOf(err) == driver.AlreadyExists {
			// A lost response: the assignment of this deterministic name exists.
			if ok, rerr := d.readAssignment(ctx, c, id); rerr == nil && ok {
				return nil
			}
		}
		return err
	})
	return id, fail(c, "creating", id, err)
}

func (d *Driver) readAssignment(ctx context.Context, c driver.Component, id string) (bool, error) {
	_, err := d.assignments.GetByID(ctx, id, nil)
	ok, err := codes.Exists(err)
	return ok, fail(c, "reading", id, err)
}

func (d *Driver) deleteAssignment(ctx context.Context, c driver.Component, id string) error {
	_, err := d.assignments.DeleteByID(ctx, id, nil)
	return fail(c, "deleting", id, codes.IgnoreNotFound(err))
}

// Cosmos DB SQL role assignments (data plane access is not Azure RBAC): ids are
// <account id>/sqlRoleAssignments/<guid>.

// containerScope is a container's scope in Cosmos DB data-plane RBAC: <account id>/dbs/<db>/colls/<c>.
func containerScope(account, database, container string) string {
	return account + "/dbs/" + database + "/colls/" + container
}

// sqlAssignmentID is the id of the assignment of role to principal at scope in account.
func sqlAssignmentID(account, scope, principal, role string) string {
	return account + "/sqlRoleAssignments/" + assignmentName(scope, principal, role)
}

// assignSQL assigns a built-in data-plane role to principal at scope, a container of account.
func (d *Driver) assignSQL(ctx context.Context, c driver.Component, account, scope, principal, role string) (string, error) {
	id := sqlAssignmentID(account, scope, principal, role)
	name := lastPart(id)
	err := retryPropagation(ctx, func() error {
		p, err := d.sql.BeginCreateUpdateSQLRoleAssignment(ctx, name, d.rgOf(account), lastPart(account), armcosmos.SQLRoleAssignmentCreateUpdateParameters{
			Properties: &armcosmos.SQLRoleAssignmentResource{
				PrincipalID: &principal, Scope: &scope, RoleDefinitionID: to.Ptr(account + "/sqlRoleDefinitions/" + role),
			}}, nil)
		if err == nil {
			_, err = p.PollUntilDone(ctx, d.pollOpts())
			err = polled(err)
		}
		return err
	})
	return id, fail(c, "creating", id, err)
}

func (d *Driver) readSQLAssignment(ctx context.Context, c driver.Component, id string) (bool, error) {
	account, name, _ := strings.Cut(id, "/sqlRoleAssignments/")
	_, err := d.sql.GetSQLRoleAssignment(ctx, name, d.rgOf(account), lastPart(account), nil)
	ok, err := codes.Exists(err)
	return ok, fail(c, "reading", id, err)
}

func (d *Driver) deleteSQLAssignment(ctx context.Context, c driver.Component, id string) error {
	account, name, _ := strings.Cut(id, "/sqlRoleAssignments/")
	p, err := d.sql.BeginDeleteSQLRoleAssignment(ctx, name, d.rgOf(account), lastPart(account), nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, d.pollOpts())
	}
	return fail(c, "deleting", id, codes.IgnoreNotFound(err))
}

func sameTags(have map[string]*string, want map[string]*string) bool {
	if len(have) != len(want) {
		return false
	}
	for k, v := range want {
		if tagValue(have, k) != deref(v) {
			return false
		}
	}
	return true
}
