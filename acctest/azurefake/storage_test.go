package azurefake

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
)

// newStorage creates a storage account and a container through armstorage.
func newStorage(t *testing.T, e *env, account, container string) {
	t.Helper()
	accounts := must[*armstorage.AccountsClient](t, "client")(armstorage.NewAccountsClient(e.sub, e.cred, e.opts))
	p, err := accounts.BeginCreate(e.ctx, e.rg, account, armstorage.AccountCreateParameters{
		Location: to.Ptr("westeurope"), Kind: to.Ptr(armstorage.KindStorageV2),
		SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		Properties: &armstorage.AccountPropertiesCreateParameters{
			AllowSharedKeyAccess: to.Ptr(false), MinimumTLSVersion: to.Ptr(armstorage.MinimumTLSVersionTLS12),
			EnableHTTPSTrafficOnly: to.Ptr(true), AllowBlobPublicAccess: to.Ptr(false),
		},
	}, nil)
	if _, err := poll(e.ctx, p, err); err != nil {
		t.Fatalf("creating storage account %s: %v", account, err)
	}
	containers := must[*armstorage.BlobContainersClient](t, "client")(armstorage.NewBlobContainersClient(e.sub, e.cred, e.opts))
	if _, err := containers.Create(e.ctx, e.rg, account, container, armstorage.BlobContainer{}, nil); err != nil {
		t.Fatalf("creating container %s: %v", container, err)
	}
}

func TestStorage(t *testing.T) {
	other := otherSubscription
	e := newEnv(t, Options{Subscriptions: []string{DefaultSubscription, other}})
	newStorage(t, e, "tfdeploy01", "deploy")
	accounts := must[*armstorage.AccountsClient](t, "client")(armstorage.NewAccountsClient(e.sub, e.cred, e.opts))
	got, err := accounts.GetProperties(e.ctx, e.rg, "tfdeploy01", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Properties; p == nil || *p.ProvisioningState != armstorage.ProvisioningStateSucceeded || *p.AllowSharedKeyAccess ||
		*p.MinimumTLSVersion != armstorage.MinimumTLSVersionTLS12 || !*p.EnableHTTPSTrafficOnly || *p.PrimaryEndpoints.Blob != "https://tfdeploy01.blob.core.windows.net/" {
		t.Errorf("account as read: %+v", p)
	}
	if calls := e.s.Calls(); calls["Microsoft.Storage/locations/operationStatuses/read"] < 2 {
		t.Errorf("the create was not polled (InProgress, then Succeeded): %v", calls)
	}

	// PATCH merges.
	upd, err := accounts.Update(e.ctx, e.rg, "tfdeploy01", armstorage.AccountUpdateParameters{Tags: map[string]*string{"team": to.Ptr("orders")}}, nil)
	if err != nil || *upd.Tags["team"] != "orders" || *upd.Properties.MinimumTLSVersion != armstorage.MinimumTLSVersionTLS12 {
		t.Errorf("PATCH: %+v, %v", upd, err)
	}
	_, err = accounts.Update(e.ctx, e.rg, "tfdeploy01", armstorage.AccountUpdateParameters{Properties: &armstorage.AccountPropertiesUpdateParameters{MinimumTLSVersion: to.Ptr(armstorage.MinimumTLSVersion("TLS9"))}}, nil)
	wantCode(t, "PATCH minimumTlsVersion TLS9", err, http.StatusBadRequest, "InvalidValuesForRequestParameters")

	create := func(client *armstorage.AccountsClient, name string) error {
		p, err := client.BeginCreate(e.ctx, e.rg, name, armstorage.AccountCreateParameters{
			Location: to.Ptr("westeurope"), Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		}, nil)
		_, err = poll(e.ctx, p, err)
		return err
	}
	for _, name := range []string{"ab", "Upper123", "has-hyphen", "abcdefghijklmnopqrstuvwxy"} {
		wantCode(t, "account "+name, create(accounts, name), http.StatusBadRequest, "AccountNameInvalid")
	}
	otherAccounts := must[*armstorage.AccountsClient](t, "client")(armstorage.NewAccountsClient(other, e.cred, e.opts))
	wantCode(t, "a name taken in another subscription", create(otherAccounts, "tfdeploy01"), http.StatusConflict, "StorageAccountAlreadyTaken")
	avail, err := otherAccounts.CheckNameAvailability(e.ctx, armstorage.AccountCheckNameAvailabilityParameters{Name: to.Ptr("tfdeploy01"), Type: to.Ptr("Microsoft.Storage/storageAccounts")}, nil)
	if err != nil || *avail.NameAvailable || *avail.Reason != armstorage.ReasonAlreadyExists {
		t.Errorf("CheckNameAvailability of a taken name: %+v, %v", avail, err)
	}

	containers := must[*armstorage.BlobContainersClient](t, "client")(armstorage.NewBlobContainersClient(e.sub, e.cred, e.opts))
	if _, err := containers.Get(e.ctx, e.rg, "tfdeploy01", "deploy", nil); err != nil {
		t.Errorf("GET container: %v", err)
	}
	_, err = containers.Get(e.ctx, e.rg, "tfdeploy01", "nope", nil)
	wantCode(t, "GET missing container", err, http.StatusNotFound, "ResourceNotFound")
	_, err = containers.Create(e.ctx, e.rg, "tfdeploy01", "Bad_Name", armstorage.BlobContainer{}, nil)
	wantCode(t, "container name", err, http.StatusBadRequest, "ContainerOperationFailure")
	_, err = containers.Create(e.ctx, e.rg, "missing01", "deploy", armstorage.BlobContainer{}, nil)
	wantCode(t, "container of a missing account", err, http.StatusNotFound, "ParentResourceNotFound")
	_, err = containers.Create(e.ctx, e.rg, "tfdeploy01", "public", armstorage.BlobContainer{ContainerProperties: &armstorage.ContainerProperties{PublicAccess: to.Ptr(armstorage.PublicAccessBlob)}}, nil)
	wantCode(t, "public container", err, http.StatusConflict, "PublicAccessNotPermitted")

	if _, err := accounts.Delete(e.ctx, e.rg, "tfdeploy01", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Delete(e.ctx, e.rg, "tfdeploy01", nil); err != nil {
		t.Errorf("deleting a deleted account: %v, want 204 and no error", err)
	}
	_, err = accounts.GetProperties(e.ctx, e.rg, "tfdeploy01", nil)
	wantCode(t, "GET deleted account", err, http.StatusNotFound, "ResourceNotFound")
	if left := e.s.Leftovers(); len(left) != 0 {
		t.Errorf("leftovers after deleting the account (containers go with it): %v", left)
	}
}
