package azurefunctions_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions/azuretest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

func harness(t *testing.T) *azuretest.Harness {
	t.Helper()
	h, err := azuretest.New(context.Background(), t)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func handler(name string, kind spec.TriggerKind) *spec.Handler {
	h := drivertest.Handler(name, azurefunctions.Cloud)
	h.Trigger.Kind = kind
	h.Function.SourceHash = azuretest.Code.Hash
	return h
}

func apply(t *testing.T, h *azuretest.Harness, want *spec.Handler, st driver.State) driver.State {
	t.Helper()
	st, _, err := h.D.Apply(context.Background(), want, azuretest.Code, st)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return st
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// refreshCalls is what a refresh costs: each component once, plus the function app's app
// settings and its two publishing policies, the storage account's deployment container, and a
// subscription's rules (trigger.filter).
var refreshCalls = map[spec.TriggerKind]int{spec.Queue: 19, spec.Topic: 21}

// TestCallBudget: a refresh reads each component once (19 calls for a queue handler, 21 for a
// topic handler); an apply with no change makes the same reads and no write.
func TestCallBudget(t *testing.T) {
	h := harness(t)
	for _, kind := range []spec.TriggerKind{spec.Queue, spec.Topic} {
		h.Fake.ResetCalls()
		st := apply(t, h, handler("budget-"+string(kind), kind), nil)
		created := h.Fake.Calls()
		h.Fake.ResetCalls()
		if _, err := h.D.Read(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		read := h.Fake.Calls()
		h.Fake.ResetCalls()
		apply(t, h, handler("budget-"+string(kind), kind), st)
		noop := h.Fake.Calls()
		t.Logf("%s handler: create %d calls %v; refresh %d calls %v", kind, total(created), created, total(read), read)
		if total(read) != refreshCalls[kind] {
			t.Errorf("%s: refresh made %d calls, want %d: %v", kind, total(read), refreshCalls[kind], read)
		}
		if !maps.Equal(noop, read) {
			t.Errorf("%s: Apply of an unchanged handler made %v, want only the refresh's reads %v", kind, noop, read)
		}
	}
}

// TestDriftDetected: what the handler's settings cannot show (basic publishing turned on, shared
// keys allowed, dead letters forwarded elsewhere) is read back, reported as drift of its component
// and put right by Apply.
func TestDriftDetected(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	want := handler("drifty", spec.Queue)
	st := apply(t, h, want, nil)
	cred, opts := h.Fake.StaticCredential(), h.Fake.ClientOptions()
	sites, _ := armappservice.NewWebAppsClient(h.Fake.Subscription(), cred, opts)
	accounts, _ := armstorage.NewAccountsClient(h.Fake.Subscription(), cred, opts)
	queues, _ := armservicebus.NewQueuesClient(h.Fake.Subscription(), cred, opts)
	rg := h.Fake.ResourceGroup()
	last := func(id string) string { return id[strings.LastIndex(id, "/")+1:] }
	for _, tc := range []struct {
		c     driver.Component
		drift func() error
	}{
		{driver.Function, func() error { // FTP publishing credentials on again
			_, err := sites.UpdateFtpAllowed(ctx, rg, last(st.Get(driver.Function)), armappservice.CsmPublishingCredentialsPoliciesEntity{
				Properties: &armappservice.CsmPublishingCredentialsPoliciesEntityProperties{Allow: to.Ptr(true)}}, nil)
			return err
		}},
		{azurefunctions.StorageAccount, func() error { // shared keys allowed
			_, err := accounts.Update(ctx, rg, last(st.Get(azurefunctions.StorageAccount)), armstorage.AccountUpdateParameters{
				Properties: &armstorage.AccountPropertiesUpdateParameters{AllowSharedKeyAccess: to.Ptr(true)}}, nil)
			return err
		}},
		{driver.Logs, func() error { // instrumentation-key ingestion on again
			return h.Call(ctx, http.MethodPatch, st.Get(driver.Logs)+"?api-version=2020-02-02", `{"properties":{"DisableLocalAuth":false}}`)
		}},
		{azurefunctions.Workspace, func() error { // shared-key ingestion on again
			return h.Call(ctx, http.MethodPatch, st.Get(azurefunctions.Workspace)+"?api-version=2022-10-01", `{"properties":{"features":{"disableLocalAuth":false}}}`)
		}},
		{driver.Queue, func() error { // dead letters kept in the queue's own sub-queue
			ns := st.Get(azurefunctions.Namespace)
			_, err := queues.CreateOrUpdate(ctx, rg, last(ns), last(st.Get(driver.Queue)), armservicebus.SBQueue{
				Properties: &armservicebus.SBQueueProperties{LockDuration: to.Ptr("PT30S"), MaxDeliveryCount: to.Ptr[int32](int32(want.Retry.MaxAttempts))}}, nil)
			return err
		}},
		{driver.DeadLetter, func() error { // dead letters dead-lettered again after ten inspections
			ns := st.Get(azurefunctions.Namespace)
			_, err := queues.CreateOrUpdate(ctx, rg, last(ns), last(st.Get(driver.DeadLetter)), armservicebus.SBQueue{
				Properties: &armservicebus.SBQueueProperties{DefaultMessageTimeToLive: to.Ptr("P14D"), MaxDeliveryCount: to.Ptr[int32](10)}}, nil)
			return err
		}},
	} {
		t.Run(string(tc.c), func(t *testing.T) {
			if err := tc.drift(); err != nil {
				t.Fatal(err)
			}
			obs, err := h.D.Read(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(obs.Drifted, tc.c) {
				t.Fatalf("Drifted = %v, want %s", obs.Drifted, tc.c)
			}
			st = apply(t, h, want, st)
			if obs, err = h.D.Read(ctx, st); err != nil || len(obs.Drifted) != 0 {
				t.Errorf("after Apply: Drifted = %v, %v; want none", obs.Drifted, err)
			}
			dlq, err := queues.Get(ctx, rg, last(st.Get(azurefunctions.Namespace)), last(st.Get(driver.DeadLetter)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := dlq.Properties.MaxDeliveryCount; n == nil || *n != 2000 {
				t.Errorf("after Apply: the dead-letter queue's MaxDeliveryCount is not 2000: inspecting dead letters must not dead-letter them again")
			}
			if diff := obs.Handler.Trigger.VisibilityTimeoutS - want.Trigger.VisibilityTimeoutS; diff != 0 {
				t.Errorf("after Apply: lock duration %d s, want %d", obs.Handler.Trigger.VisibilityTimeoutS, want.Trigger.VisibilityTimeoutS)
			}
		})
	}
	if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
}

// TestFailedPublish: a refused code publish is an error on the function, and the code hash Read
// finds stays the old one, so the next apply publishes again.
func TestFailedPublish(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	want := handler("publish", spec.Queue)
	st := apply(t, h, want, nil)
	next := &driver.Code{Zip: azuretest.Code.Zip, Hash: strings.Repeat("b", 64)}
	changed := *want
	changed.Function.SourceHash = next.Hash
	h.Fake.AddFault(azurefake.Fault{Method: http.MethodPost, Op: "scm/publish", Status: http.StatusBadRequest, Code: "BadRequest"})
	st, _, err := h.D.Apply(ctx, &changed, next, st)
	var de *driver.Error
	if !errors.As(err, &de) || de.Component != driver.Function {
		t.Fatalf("Apply with the publish refused = %v, want an error on the function", err)
	}
	obs, err := h.D.Read(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if obs.Handler.Function.SourceHash != want.Function.SourceHash {
		t.Errorf("after a failed publish Read finds hash %q, want the old %q", obs.Handler.Function.SourceHash, want.Function.SourceHash)
	}
	st, _, err = h.D.Apply(ctx, &changed, next, st)
	if err != nil {
		t.Fatal(err)
	}
	if obs, _ = h.D.Read(ctx, st); obs.Handler.Function.SourceHash != next.Hash {
		t.Errorf("after the retried publish Read finds hash %q, want %q", obs.Handler.Function.SourceHash, next.Hash)
	}
	if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
}

// TestAppSettings: the function receives what the runtime library and the examples read.
func TestAppSettings(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	for _, kind := range []spec.TriggerKind{spec.Queue, spec.Topic} {
		want := handler("settings-"+string(kind), kind)
		st := apply(t, h, want, nil)
		sites, _ := armappservice.NewWebAppsClient(h.Fake.Subscription(), h.Fake.StaticCredential(), h.Fake.ClientOptions())
		site := st.Get(driver.Function)
		resp, err := sites.ListApplicationSettings(ctx, h.Fake.ResourceGroup(), site[strings.LastIndex(site, "/")+1:], nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for k, v := range resp.Properties {
			got[k] = *v
		}
		ns := st.Get(azurefunctions.Namespace)
		account := st.Get(azurefunctions.CosmosAccount)
		wantSettings := map[string]string{
			"THREEFACTOR_SERVICEBUS__fullyQualifiedNamespace": ns[strings.LastIndex(ns, "/")+1:] + ".servicebus.windows.net",
			"THREEFACTOR_SERVICEBUS__credential":              "managedidentity",
			"THREEFACTOR_SERVICEBUS__clientId":                st["identity_client_id"],
			"AZURE_CLIENT_ID":                                 st["identity_client_id"],
			"AzureWebJobsStorage__credential":                 "managedidentity",
			"AzureWebJobsStorage__clientId":                   st["identity_client_id"],
			"THREEFACTOR_DEDUP_STORE":                         "cosmos://" + account[strings.LastIndex(account, "/")+1:] + ".documents.azure.com/" + want.Name + "/dedup",
			"TABLE":                                           "orders",
			"API_KEY":                                         "s3cret",
		}
		if kind == spec.Queue {
			wantSettings["THREEFACTOR_QUEUE"] = want.Name + "--queue"
		} else {
			wantSettings["THREEFACTOR_TOPIC"] = want.Name + "--topic"
			wantSettings["THREEFACTOR_SUBSCRIPTION"] = want.Name
		}
		for k, v := range wantSettings {
			if got[k] != v {
				t.Errorf("%s: app setting %s = %q, want %q", kind, k, got[k], v)
			}
		}
		for k, v := range got {
			if strings.Contains(strings.ToLower(k), "connectionstring") || strings.Contains(strings.ToLower(v), "accountkey=") {
				t.Errorf("%s: app setting %s carries a key", kind, k)
			}
		}
		if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
			t.Fatalf("Delete = %v, %v", left, err)
		}
	}
}

// TestMissingSubscriptionRegistration: the SDK registers a missing resource provider itself; when
// the credentials may not, the error names the provider to register.
func TestMissingSubscriptionRegistration(t *testing.T) {
	s := azurefake.Require(t, azurefake.Options{UnregisteredProviders: []string{"Microsoft.ServiceBus"}, RegistrationForbidden: true})
	d, err := azurefunctions.New(context.Background(), azuretest.Config(s))
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := d.Apply(context.Background(), handler("unregistered", spec.Queue), azuretest.Code, nil)
	if err == nil || !strings.Contains(err.Error(), "az provider register --namespace Microsoft.ServiceBus") {
		t.Errorf("Apply in a subscription without Microsoft.ServiceBus = %v, want the registration named", err)
	}
	if _, err := d.Delete(context.Background(), st); err != nil {
		t.Fatal(err)
	}
}

// TestCheck: an existing source that does not exist is refused at plan.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	src, err := h.ExistingSource(ctx, spec.Queue)
	if err != nil {
		t.Fatal(err)
	}
	want := handler("checked", spec.Queue)
	want.Trigger.Source = src + "x"
	if ps := h.D.Check(ctx, want); len(ps) != 1 || ps[0].Warning || ps[0].Path[1] != "source" {
		t.Errorf("Check of a missing source = %v, want one error on trigger.source", ps)
	}
	want.Trigger.Source = src
	if ps := h.D.Check(ctx, want); len(ps) != 0 {
		t.Errorf("Check of an existing source = %v, want none", ps)
	}
}

// TestGoHostJSON: a Go package without host.json is published with one that runs its binary as a
// custom handler; one with its own host.json is published as it is.
func TestGoHostJSON(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	want := handler("gohandler", spec.Queue)
	want.Function.Runtime, want.Function.EntryPoint = "go", "handler"
	st := apply(t, h, want, nil)
	site := st.Get(driver.Function)
	pkg, ok := h.Fake.Deployed(site[strings.LastIndex(site, "/")+1:])
	if !ok {
		t.Fatal("nothing was published")
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	found := false
	for _, f := range zr.File {
		if f.Name == "host.json" {
			r, _ := f.Open()
			found = json.NewDecoder(r).Decode(&host) == nil
		}
	}
	if !found || host.CustomHandler.Description.DefaultExecutablePath != "handler" {
		t.Errorf("published package's host.json: found %v, %+v; want the custom handler \"handler\"", found, host)
	}
	obs, err := h.D.Read(ctx, st)
	if err != nil || obs.Handler.Function.Runtime != "go" || obs.Handler.Function.SourceHash != want.Function.SourceHash {
		t.Errorf("Read = %+v, %v; want runtime go and the package's own hash", obs.Handler.Function, err)
	}
	if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
}

// TestSharedAccounts: with the provider's service_bus_namespace and cosmos_account, a handler
// creates neither, uses both, and destroy leaves them.
func TestSharedAccounts(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	cred, opts := h.Fake.StaticCredential(), h.Fake.ClientOptions()
	rg := h.Fake.ResourceGroup()
	nsc, _ := armservicebus.NewNamespacesClient(h.Fake.Subscription(), cred, opts)
	p, err := nsc.BeginCreateOrUpdate(ctx, rg, "team-shared-ns", armservicebus.SBNamespace{Location: to.Ptr(azurefake.DefaultLocation),
		SKU: &armservicebus.SBSKU{Name: to.Ptr(armservicebus.SKUNameStandard)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := armcosmos.NewDatabaseAccountsClient(h.Fake.Subscription(), cred, opts)
	cp, err := cc.BeginCreateOrUpdate(ctx, rg, "team-shared-cosmos", armcosmos.DatabaseAccountCreateUpdateParameters{
		Location: to.Ptr(azurefake.DefaultLocation), Properties: &armcosmos.DatabaseAccountCreateUpdateProperties{
			DatabaseAccountOfferType: to.Ptr("Standard"), Locations: []*armcosmos.Location{{LocationName: to.Ptr(azurefake.DefaultLocation)}},
			Capabilities: []*armcosmos.Capability{{Name: to.Ptr("EnableServerless")}},
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	account, err := cp.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	before := h.Fake.Leftovers()
	cfg := azuretest.Config(h.Fake)
	cfg.SharedNamespace, cfg.SharedCosmos = *ns.ID, *account.ID
	d, err := azurefunctions.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []spec.TriggerKind{spec.Queue, spec.Topic} {
		st, _, err := d.Apply(ctx, handler("shared-"+string(kind), kind), azuretest.Code, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Get(azurefunctions.Namespace) != *ns.ID || st.Get(azurefunctions.CosmosAccount) != *account.ID ||
			!strings.HasPrefix(st.Get(driver.DeadLetter), *ns.ID+"/") || !strings.HasPrefix(st.Get(driver.DedupTable), *account.ID+"/") {
			t.Errorf("%s: state %v, want the shared namespace and account used", kind, st)
		}
		obs, err := d.Read(ctx, st)
		if err != nil || len(obs.Drifted) != 0 || len(obs.Missing) != 0 {
			t.Errorf("%s: Read = drifted %v, missing %v, %v", kind, obs.Drifted, obs.Missing, err)
		}
		if left, err := d.Delete(ctx, st); err != nil || len(left) != 0 {
			t.Fatalf("Delete = %v, %v", left, err)
		}
		if after := h.Fake.Leftovers(); !slices.Equal(after, before) {
			t.Errorf("%s: after destroy the fake holds %v, want what it held before: %v", kind, after, before)
		}
	}
}

// TestSwapToSourceElsewhere: a handler on its own queue moves to an existing queue in another
// namespace: its dead-letter queue moves there (forwarding works within one namespace), its own
// namespace goes, and destroy restores the adopted queue's settings.
func TestSwapToSourceElsewhere(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	want := handler("mover", spec.Queue)
	st := apply(t, h, want, nil)
	own := st.Get(azurefunctions.Namespace)
	src, err := h.ExistingSource(ctx, spec.Queue)
	if err != nil {
		t.Fatal(err)
	}
	moved := *want
	moved.Trigger.Source = src
	st = apply(t, h, &moved, st)
	ns := src[:strings.Index(src, "/queues/")]
	if st.Get(azurefunctions.Namespace) != ns || !strings.HasPrefix(st.Get(driver.DeadLetter), ns+"/") || st.Get(driver.Queue) != src {
		t.Errorf("after the move: state %v, want the source's namespace, its dead-letter queue there and the source as queue", st)
	}
	for _, r := range h.Fake.Leftovers() {
		if strings.Contains(strings.ToLower(r), strings.ToLower(own)) {
			t.Errorf("the handler's own namespace outlived the move: %s", r)
		}
	}
	obs, err := h.D.Read(ctx, st)
	if err != nil || len(obs.Drifted) != 0 || obs.Handler.Trigger.Source != src {
		t.Errorf("Read after the move: drifted %v, source %q, %v", obs.Drifted, obs.Handler.Trigger.Source, err)
	}
	if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
	if left, _ := h.Leftovers(ctx); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	queues, _ := armservicebus.NewQueuesClient(h.Fake.Subscription(), h.Fake.StaticCredential(), h.Fake.ClientOptions())
	q, err := queues.Get(ctx, h.Fake.ResourceGroup(), ns[strings.LastIndex(ns, "/")+1:], "existing", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := q.Properties; p.ForwardDeadLetteredMessagesTo != nil || *p.MaxDeliveryCount != 10 || (*p.LockDuration != "PT1M" && *p.LockDuration != "PT60S") {
		t.Errorf("adopted queue after destroy: forward %v, max delivery %d, lock %s; want its own settings back (none, 10, PT1M)",
			p.ForwardDeadLetteredMessagesTo, *p.MaxDeliveryCount, *p.LockDuration)
	}
}

// TestFailedOperationLeavesNothing: a long-running create ARM accepted and whose operation then
// failed leaves its resource (provisioningState Failed); the state records it, so destroy removes
// it.
func TestFailedOperationLeavesNothing(t *testing.T) {
	ctx := context.Background()
	for _, c := range []driver.Component{azurefunctions.StorageAccount, azurefunctions.Namespace, azurefunctions.CosmosAccount,
		azurefunctions.Workspace, driver.DedupTable, azurefunctions.DedupGrant, azurefunctions.Plan, driver.Function} {
		t.Run(string(c), func(t *testing.T) {
			h := harness(t)
			h.Fake.FailOperation(http.MethodPut, azuretest.CreatePattern(c), "InternalServerError")
			st, _, err := h.D.Apply(ctx, handler("opfail", spec.Queue), azuretest.Code, nil)
			var de *driver.Error
			if !errors.As(err, &de) || de.Component != c {
				t.Errorf("Apply with the operation creating %s failing = %v, want an error on it", c, err)
			}
			if !st.Has(c) {
				t.Errorf("state %v does not record the %s the failed operation left", st, c)
			}
			if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
				t.Fatalf("Delete = %v, %v", left, err)
			}
			if left, _ := h.Leftovers(ctx); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestPublishRetries403: the SCM endpoint refuses a new identity's token with 403 while its
// roles propagate; the publish is retried until it is accepted.
func TestPublishRetries403(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	h.Fake.AddFault(azurefake.Fault{Method: http.MethodPost, Op: "scm/publish", Status: http.StatusForbidden, Code: "Forbidden", Times: 3})
	st, _, err := h.D.Apply(ctx, handler("propagating", spec.Queue), azuretest.Code, nil)
	if err != nil {
		t.Fatalf("Apply with the first three publishes refused 403: %v", err)
	}
	if n := h.Fake.Calls()["scm/publish"]; n != 4 {
		t.Errorf("published %d times, want 4 (3 refused, then accepted)", n)
	}
	if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
}

// TestLocateAdopted: import finds a handler on an existing queue through the app's settings, with
// the settings the queue had before, and destroy of what it found restores them and leaves it.
func TestLocateAdopted(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	src, err := h.ExistingSource(ctx, spec.Queue)
	if err != nil {
		t.Fatal(err)
	}
	want := handler("adopter", spec.Queue)
	want.Trigger.Source = src
	st := apply(t, h, want, nil)
	got, err := h.D.Locate(ctx, want.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range azurefunctions.Cloud.Order() {
		if got.Get(c) != st.Get(c) {
			t.Errorf("Locate: %s = %q, want %q", c, got.Get(c), st.Get(c))
		}
	}
	if got["queue_source"] != src || got["queue_prev"] != st["queue_prev"] || st["queue_prev"] == "" {
		t.Errorf("Locate: queue_source = %q, queue_prev = %q; want %q, %q", got["queue_source"], got["queue_prev"], src, st["queue_prev"])
	}
	if left, err := h.D.Delete(ctx, got); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
	if left, _ := h.Leftovers(ctx); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	queues, _ := armservicebus.NewQueuesClient(h.Fake.Subscription(), h.Fake.StaticCredential(), h.Fake.ClientOptions())
	ns := src[:strings.Index(src, "/queues/")]
	q, err := queues.Get(ctx, h.Fake.ResourceGroup(), ns[strings.LastIndex(ns, "/")+1:], "existing", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := q.Properties; p.ForwardDeadLetteredMessagesTo != nil || (*p.LockDuration != "PT1M" && *p.LockDuration != "PT60S") {
		t.Errorf("adopted queue after destroy: forward %v, lock %s; want its own settings back (none, PT1M)", p.ForwardDeadLetteredMessagesTo, *p.LockDuration)
	}
}

// TestLogs: the function's logs go to a workspace-based Application Insights component that takes
// no instrumentation key: the app settings name it and authenticate with the identity, which holds
// Monitoring Metrics Publisher on it; the workspace keeps them function.log_retention_days.
func TestLogs(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	want := handler("logged", spec.Queue)
	st := apply(t, h, want, nil)
	ws, ok := h.Fake.Resource(st.Get(azurefunctions.Workspace))
	wp, _ := ws["properties"].(map[string]any)
	if !ok || wp["retentionInDays"] != float64(want.Function.LogRetentionDays) || wp["features"].(map[string]any)["disableLocalAuth"] != true ||
		wp["sku"].(map[string]any)["name"] != "PerGB2018" {
		t.Errorf("workspace: %v, want PerGB2018, %d days, local auth off", ws, want.Function.LogRetentionDays)
	}
	c, ok := h.Fake.Resource(st.Get(driver.Logs))
	cp, _ := c["properties"].(map[string]any)
	if !ok || cp["DisableLocalAuth"] != true || !strings.EqualFold(cp["WorkspaceResourceId"].(string), st.Get(azurefunctions.Workspace)) {
		t.Errorf("Application Insights component: %v, want local auth off, in the handler's workspace", c)
	}
	grant, ok := h.Fake.Resource(st.Get(azurefunctions.MetricsGrant))
	gp, _ := grant["properties"].(map[string]any)
	if !ok || !strings.HasSuffix(gp["roleDefinitionId"].(string), "/3913510d-42f4-4e42-8a64-420c390055eb") ||
		gp["principalId"] != st["identity_principal_id"] || gp["principalType"] != "ServicePrincipal" ||
		!strings.EqualFold(gp["scope"].(string), st.Get(driver.Logs)) {
		t.Errorf("metrics grant: %v, want Monitoring Metrics Publisher on the component for the identity", grant)
	}
	sites, _ := armappservice.NewWebAppsClient(h.Fake.Subscription(), h.Fake.StaticCredential(), h.Fake.ClientOptions())
	site := st.Get(driver.Function)
	resp, err := sites.ListApplicationSettings(ctx, h.Fake.ResourceGroup(), site[strings.LastIndex(site, "/")+1:], nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := deref(resp.Properties["APPLICATIONINSIGHTS_CONNECTION_STRING"]); got == "" || got != cp["ConnectionString"] {
		t.Errorf("APPLICATIONINSIGHTS_CONNECTION_STRING = %q, want the component's %q", got, cp["ConnectionString"])
	}
	if got, want := deref(resp.Properties["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]), "ClientId="+st["identity_client_id"]+";Authorization=AAD"; got != want {
		t.Errorf("APPLICATIONINSIGHTS_AUTHENTICATION_STRING = %q, want %q", got, want)
	}

	longer := *want
	longer.Function.LogRetentionDays = 90
	st = apply(t, h, &longer, st)
	obs, err := h.D.Read(ctx, st)
	if err != nil || obs.Handler.Function.LogRetentionDays != 90 || len(obs.Drifted) != 0 {
		t.Errorf("after raising the retention: Read = %d days, drifted %v, %v; want 90, none", obs.Handler.Function.LogRetentionDays, obs.Drifted, err)
	}
	if _, ok := obs.Handler.Function.Environment["APPLICATIONINSIGHTS_CONNECTION_STRING"]; ok {
		t.Error("the connection string the driver writes reads back as the handler's environment")
	}
	// Destroy deletes the workspace for good: a soft-deleted one would keep its name and logs.
	if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
	if left, _ := h.Leftovers(ctx); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
