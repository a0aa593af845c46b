package azurefake

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"
)

func cosmosAccount(serverless bool, locations ...string) armcosmos.DatabaseAccountCreateUpdateParameters {
	var caps []*armcosmos.Capability
	if serverless {
		caps = append(caps, &armcosmos.Capability{Name: to.Ptr("EnableServerless")})
	}
	var locs []*armcosmos.Location
	for i, l := range locations {
		locs = append(locs, &armcosmos.Location{LocationName: to.Ptr(l), FailoverPriority: to.Ptr(int32(i))})
	}
	return armcosmos.DatabaseAccountCreateUpdateParameters{
		Location: to.Ptr("westeurope"), Kind: to.Ptr(armcosmos.DatabaseAccountKindGlobalDocumentDB),
		Properties: &armcosmos.DatabaseAccountCreateUpdateProperties{
			DatabaseAccountOfferType: to.Ptr("Standard"), Locations: locs, Capabilities: caps, DisableLocalAuth: to.Ptr(true),
		},
	}
}

func TestCosmos(t *testing.T) {
	e := newEnv(t, Options{})
	accounts := must[*armcosmos.DatabaseAccountsClient](t, "client")(armcosmos.NewDatabaseAccountsClient(e.sub, e.cred, e.opts))
	create := func(name string, p armcosmos.DatabaseAccountCreateUpdateParameters) (armcosmos.DatabaseAccountGetResults, error) {
		pl, err := accounts.BeginCreateOrUpdate(e.ctx, e.rg, name, p, nil)
		got, err := poll(e.ctx, pl, err)
		return got.DatabaseAccountGetResults, err
	}
	acct, err := create("orders-dedup", cosmosAccount(true, "westeurope"))
	if err != nil {
		t.Fatalf("creating the account: %v", err)
	}
	if *acct.Properties.ProvisioningState != "Succeeded" || !*acct.Properties.DisableLocalAuth || *acct.Properties.DocumentEndpoint != "https://orders-dedup.documents.azure.com:443/" {
		t.Errorf("account: %+v", acct.Properties)
	}
	for _, tc := range []struct {
		what string
		name string
		p    armcosmos.DatabaseAccountCreateUpdateParameters
	}{
		{"name Orders", "Orders", cosmosAccount(true, "westeurope")},
		{"name ab", "ab", cosmosAccount(true, "westeurope")},
		{"serverless in two regions", "two-regions", cosmosAccount(true, "westeurope", "northeurope")},
		{"no location", "no-location", cosmosAccount(true)},
		{"serverless turned off", "orders-dedup", cosmosAccount(false, "westeurope")},
	} {
		_, err := create(tc.name, tc.p)
		wantCode(t, tc.what, err, http.StatusBadRequest, "BadRequest")
	}

	sql := must[*armcosmos.SQLResourcesClient](t, "client")(armcosmos.NewSQLResourcesClient(e.sub, e.cred, e.opts))
	pl, err := sql.BeginCreateUpdateSQLDatabase(e.ctx, e.rg, "orders-dedup", "threefactor", armcosmos.SQLDatabaseCreateUpdateParameters{
		Properties: &armcosmos.SQLDatabaseCreateUpdateProperties{Resource: &armcosmos.SQLDatabaseResource{ID: to.Ptr("threefactor")}},
	}, nil)
	if _, err := poll(e.ctx, pl, err); err != nil {
		t.Fatalf("creating the database: %v", err)
	}
	container := func(name string, ttl *int32, paths ...string) (armcosmos.SQLContainerGetResults, error) {
		var ps []*string
		for _, p := range paths {
			ps = append(ps, to.Ptr(p))
		}
		pl, err := sql.BeginCreateUpdateSQLContainer(e.ctx, e.rg, "orders-dedup", "threefactor", name, armcosmos.SQLContainerCreateUpdateParameters{
			Properties: &armcosmos.SQLContainerCreateUpdateProperties{Resource: &armcosmos.SQLContainerResource{
				ID: to.Ptr(name), DefaultTTL: ttl, PartitionKey: &armcosmos.ContainerPartitionKey{Paths: ps, Kind: to.Ptr(armcosmos.PartitionKindHash)},
			}},
		}, nil)
		got, err := poll(e.ctx, pl, err)
		return got.SQLContainerGetResults, err
	}
	got, err := container("dedup", to.Ptr[int32](86400), "/id")
	if err != nil {
		t.Fatalf("creating the container: %v", err)
	}
	if r := got.Properties.Resource; *r.DefaultTTL != 86400 || *r.PartitionKey.Paths[0] != "/id" {
		t.Errorf("container: %+v", r)
	}
	for _, tc := range []struct {
		what  string
		ttl   *int32
		paths []string
	}{
		{"TTL 0", to.Ptr[int32](0), []string{"/id"}},
		{"TTL -2", to.Ptr[int32](-2), []string{"/id"}},
		{"no partition key", nil, nil},
		{"a path without /", nil, []string{"id"}},
		{"two Hash paths", nil, []string{"/a", "/b"}},
		{"a changed partition key", nil, []string{"/other"}},
	} {
		name := "bad"
		if tc.what == "a changed partition key" {
			name = "dedup"
		}
		_, err := container(name, tc.ttl, tc.paths...)
		wantCode(t, tc.what, err, http.StatusBadRequest, "BadRequest")
	}
	if _, err := container("dedup", to.Ptr[int32](-1), "/id"); err != nil {
		t.Errorf("TTL -1 (on, no default expiry): %v", err)
	}

	// The built-in Data Contributor and a SQL role assignment on the container.
	def, err := sql.GetSQLRoleDefinition(e.ctx, "00000000-0000-0000-0000-000000000002", e.rg, "orders-dedup", nil)
	if err != nil || *def.Properties.RoleName != "Cosmos DB Built-in Data Contributor" {
		t.Fatalf("built-in role definition: %+v, %v", def, err)
	}
	assign := func(scope, roleDef string) error {
		pl, err := sql.BeginCreateUpdateSQLRoleAssignment(e.ctx, "6f0b6cb8-1d3f-4b7c-9b6a-9d1b2c3d4e5f", e.rg, "orders-dedup", armcosmos.SQLRoleAssignmentCreateUpdateParameters{
			Properties: &armcosmos.SQLRoleAssignmentResource{PrincipalID: to.Ptr("11111111-1111-1111-1111-111111111111"), RoleDefinitionID: to.Ptr(roleDef), Scope: to.Ptr(scope)},
		}, nil)
		_, err = poll(e.ctx, pl, err)
		return err
	}
	wantCode(t, "a scope outside the account", assign("/subscriptions/"+e.sub, *def.ID), http.StatusBadRequest, "BadRequest")
	wantCode(t, "a missing role definition", assign(*acct.ID, *acct.ID+"/sqlRoleDefinitions/00000000-0000-0000-0000-000000000009"), http.StatusBadRequest, "BadRequest")
	if err := assign(*acct.ID+"/dbs/threefactor/colls/dedup", *def.ID); err != nil {
		t.Fatalf("SQL role assignment: %v", err)
	}

	// Delete: long-running (202 then polled), children and assignments go with the account.
	dl, err := sql.BeginDeleteSQLContainer(e.ctx, e.rg, "orders-dedup", "threefactor", "dedup", nil)
	if _, err := poll(e.ctx, dl, err); err != nil {
		t.Fatalf("deleting the container: %v", err)
	}
	_, err = sql.GetSQLContainer(e.ctx, e.rg, "orders-dedup", "threefactor", "dedup", nil)
	wantCode(t, "GET deleted container", err, http.StatusNotFound, "ResourceNotFound")
	da, err := accounts.BeginDelete(e.ctx, e.rg, "orders-dedup", nil)
	if _, err := poll(e.ctx, da, err); err != nil {
		t.Fatalf("deleting the account: %v", err)
	}
	if left := e.s.Leftovers(); len(left) != 0 {
		t.Errorf("leftovers: %v", left)
	}
}
