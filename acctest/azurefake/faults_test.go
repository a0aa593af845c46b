package azurefake

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
)

// send sends an authenticated request with a JSON body straight to the fake.
func (e *env) send(t *testing.T, method, rawURL string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequestWithContext(e.ctx, method, rawURL, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+e.s.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// TestLongRunningAnswers: a PUT answers 202 with Azure-AsyncOperation, Location and Retry-After 0;
// the status reads InProgress first, Succeeded once the delay is over; the resource shows Creating
// until then; the Location URL answers 202 then the resource.
func TestLongRunningAnswers(t *testing.T) {
	s := Require(t, Options{OperationDelay: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := &env{s: s, sub: s.Subscription(), rg: s.ResourceGroup(), ctx: ctx}
	id := "/subscriptions/" + e.sub + "/resourceGroups/" + e.rg + "/providers/Microsoft.Storage/storageAccounts/tflro01"
	resp, _ := e.send(t, http.MethodPut, s.URL()+id+"?api-version=2024-01-01", map[string]any{
		"location": "westeurope", "kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"},
	})
	async, loc := resp.Header.Get("Azure-AsyncOperation"), resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(async, "/operationStatuses/") || !strings.Contains(loc, "/operationResults/") || resp.Header.Get("Retry-After") != "0" {
		t.Fatalf("PUT: %d, headers %v", resp.StatusCode, resp.Header)
	}
	status := func() string {
		_, body := e.send(t, http.MethodGet, async, nil)
		return str(body, "status")
	}
	if got := status(); got != "InProgress" {
		t.Errorf("first status %q, want InProgress", got)
	}
	if _, body := e.send(t, http.MethodGet, s.URL()+id+"?api-version=2024-01-01", nil); str(body, "properties", "provisioningState") != "Creating" {
		t.Errorf("the account while its operation runs: %v", body)
	}
	if resp, _ := e.send(t, http.MethodGet, loc, nil); resp.StatusCode != http.StatusAccepted {
		t.Errorf("Location while running: %d, want 202", resp.StatusCode)
	}
	if got := status(); got != "InProgress" {
		t.Errorf("status within OperationDelay %q, want InProgress", got)
	}
	time.Sleep(110 * time.Millisecond)
	if got := status(); got != "Succeeded" {
		t.Errorf("status after OperationDelay %q, want Succeeded", got)
	}
	if resp, body := e.send(t, http.MethodGet, loc, nil); resp.StatusCode != http.StatusOK || str(body, "properties", "provisioningState") != "Succeeded" {
		t.Errorf("Location when done: %d %v", resp.StatusCode, body)
	}
	resp, body := e.send(t, http.MethodGet, s.URL()+id+"?api-version=2023-01-01", nil)
	if resp.StatusCode != http.StatusBadRequest || str(body, "error", "code") != "InvalidApiVersionParameter" {
		t.Errorf("another api-version: %d %v", resp.StatusCode, body)
	}

	// An operation nobody polls completes a second after its delay.
	id3 := "/subscriptions/" + e.sub + "/resourceGroups/" + e.rg + "/providers/Microsoft.Storage/storageAccounts/tflro03"
	e.send(t, http.MethodPut, s.URL()+id3+"?api-version=2024-01-01", map[string]any{"location": "westeurope", "kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"}})
	time.Sleep(s.opts.OperationDelay + unpolledGrace + 10*time.Millisecond)
	if raw, _ := s.Resource(id3); str(raw, "properties", "provisioningState") != "Succeeded" {
		t.Errorf("an unpolled operation after its delay and a second: %v", raw)
	}

	// With Retry-After 0 the SDK waits its own frequency between polls.
	cred, _ := s.Credential()
	o := s.ClientOptions()
	accounts := must[*armstorage.AccountsClient](t, "client")(armstorage.NewAccountsClient(e.sub, cred, o))
	p, err := accounts.BeginCreate(ctx, e.rg, "tflro02", armstorage.AccountCreateParameters{
		Location: to.Ptr("westeurope"), Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("polling took %v: want at least one wait of the client's frequency", d)
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t, Options{})
	nsc := must[*armservicebus.NamespacesClient](t, "client")(armservicebus.NewNamespacesClient(e.sub, e.cred, e.opts))
	createNS := func(name string) error {
		p, err := nsc.BeginCreateOrUpdate(e.ctx, e.rg, name, armservicebus.SBNamespace{Location: to.Ptr("westeurope"), SKU: &armservicebus.SBSKU{Name: to.Ptr(armservicebus.SKUNameStandard)}}, nil)
		_, err = poll(e.ctx, p, err)
		return err
	}

	// A failed operation: the PUT is accepted, the poller ends in the operation's error, the
	// namespace stays with provisioningState Failed.
	e.s.FailOperation(http.MethodPut, "/subscriptions/*/resourceGroups/*/providers/Microsoft.ServiceBus/namespaces/orders-bus", "QuotaExceeded")
	wantCode(t, "a failed operation", createNS("orders-bus"), http.StatusOK, "QuotaExceeded")
	ns, err := nsc.Get(e.ctx, e.rg, "orders-bus", nil)
	if err != nil || *ns.Properties.ProvisioningState != "Failed" {
		t.Errorf("namespace after a failed create: %v, %v", ns.Properties, err)
	}
	if left := e.s.Leftovers(); len(left) != 1 || !strings.HasPrefix(left[0], "Microsoft.ServiceBus/namespaces /subscriptions/") {
		t.Errorf("leftovers after a failed create: %v", left)
	}
	if err := createNS("orders-bus"); err != nil {
		t.Fatalf("creating again: %v", err)
	}
	e.s.ResetCalls()

	queues := must[*armservicebus.QueuesClient](t, "client")(armservicebus.NewQueuesClient(e.sub, e.cred, e.opts))
	put := func() error {
		_, err := queues.CreateOrUpdate(e.ctx, e.rg, "orders-bus", "orders", armservicebus.SBQueue{}, nil)
		return err
	}
	// FailOperation on a request that starts no operation is a plain failure, without effect.
	e.s.FailOperation(http.MethodPut, "**/queues/orders", "InjectedFailure")
	wantCode(t, "FailOperation on a synchronous PUT", put(), http.StatusBadRequest, "InjectedFailure")
	_, err = queues.Get(e.ctx, e.rg, "orders-bus", "orders", nil)
	wantCode(t, "the queue after a failed synchronous PUT", err, http.StatusNotFound, "ResourceNotFound")
	// A plain failure, not retried by the SDK.
	e.s.Fail(http.MethodPut, "**/queues/orders", http.StatusConflict, "InjectedConflict")
	wantCode(t, "Fail", put(), http.StatusConflict, "InjectedConflict")
	// 503s are retried by the SDK.
	e.s.AddFault(Fault{Method: http.MethodPut, Path: "**/queues/orders", Times: 2})
	if err := put(); err != nil {
		t.Errorf("after two 503s: %v", err)
	}
	// A lost response: the queue is created, the SDK retries on the closed connection.
	_, _ = queues.Delete(e.ctx, e.rg, "orders-bus", "orders", nil)
	e.s.LoseResponse(http.MethodPut, "**/queues/orders")
	if err := put(); err != nil {
		t.Errorf("after a lost response: %v", err)
	}
	// A fault by operation name.
	e.s.AddFault(Fault{Op: "Microsoft.ServiceBus/namespaces/queues/read", Status: http.StatusForbidden, Code: "AuthorizationFailed"})
	_, err = queues.Get(e.ctx, e.rg, "orders-bus", "orders", nil)
	wantCode(t, "a fault by operation", err, http.StatusForbidden, "AuthorizationFailed")
	if _, err := queues.Get(e.ctx, e.rg, "orders-bus", "orders", nil); err != nil {
		t.Errorf("the fault fired once only: %v", err)
	}
	want := map[string]int{
		"Microsoft.ServiceBus/namespaces/queues/write":  1 + 1 + 3 + 2,
		"Microsoft.ServiceBus/namespaces/queues/delete": 1,
		"Microsoft.ServiceBus/namespaces/queues/read":   3,
	}
	calls := e.s.Calls()
	for op, n := range want {
		if calls[op] != n {
			t.Errorf("Calls[%s] = %d, want %d (all %v)", op, calls[op], n, calls)
		}
	}
	if len(e.s.Requests()) != 11 {
		t.Errorf("Requests: %v", e.s.Requests())
	}

	// Lost responses of long-running requests: the SDK sends the PUT or DELETE again and polls the
	// operation that one starts.
	e.s.LoseResponse(http.MethodDelete, "**/namespaces/orders-bus")
	dl, err := nsc.BeginDelete(e.ctx, e.rg, "orders-bus", nil)
	if _, err := poll(e.ctx, dl, err); err != nil {
		t.Errorf("deleting after a lost response: %v", err)
	}
	e.s.LoseResponse(http.MethodPut, "**/namespaces/orders-bus")
	if err := createNS("orders-bus"); err != nil {
		t.Errorf("creating after a lost response: %v", err)
	}
	if n := e.s.Calls()["Microsoft.ServiceBus/namespaces/write"]; n != 2 {
		t.Errorf("namespace writes %d, want 2 (the lost one and its retry)", n)
	}

	e.s.Reset()
	if left, calls := e.s.Leftovers(), e.s.Calls(); len(left) != 0 || len(calls) != 0 {
		t.Errorf("after Reset: leftovers %v, calls %v", left, calls)
	}
	if err := createNS("orders-bus"); err != nil {
		t.Errorf("a credential from before Reset still works: %v", err)
	}
}

func TestMissingSubscriptionRegistration(t *testing.T) {
	e := newEnv(t, Options{UnregisteredProviders: []string{"Microsoft.ServiceBus"}})
	nsc := must[*armservicebus.NamespacesClient](t, "client")(armservicebus.NewNamespacesClient(e.sub, e.cred, e.opts))
	_, err := nsc.Get(e.ctx, e.rg, "orders-bus", nil)
	wantCode(t, "an unregistered provider", err, http.StatusConflict, "MissingSubscriptionRegistration")
	if err == nil || !strings.Contains(err.Error(), "namespace 'Microsoft.ServiceBus'") {
		t.Errorf("the message names the provider: %v", err)
	}
	// The SDK's registration policy (on by default) registers it and retries; the fake registers at
	// once, so the policy does not wait.
	o := e.s.ClientOptions()
	nsc = must[*armservicebus.NamespacesClient](t, "client")(armservicebus.NewNamespacesClient(e.sub, e.cred, o))
	_, err = nsc.Get(e.ctx, e.rg, "orders-bus", nil)
	wantCode(t, "after the SDK registered the provider", err, http.StatusNotFound, "ResourceNotFound")
	if n := e.s.Calls()["Microsoft.ServiceBus/register/action"]; n != 1 {
		t.Errorf("register calls %d, want 1", n)
	}

	f := newEnv(t, Options{UnregisteredProviders: []string{"Microsoft.Web"}, RegistrationForbidden: true})
	resp, body := f.send(t, http.MethodPost, f.s.URL()+"/subscriptions/"+f.sub+"/providers/Microsoft.Web/register?api-version=2021-04-01", nil)
	if resp.StatusCode != http.StatusForbidden || str(body, "error", "code") != "AuthorizationFailed" {
		t.Errorf("forbidden registration: %d %v", resp.StatusCode, body)
	}
}

// TestConnectTunnel: a process that cannot resolve <site>.scm.<suffix> reaches it through the fake
// as its HTTPS proxy.
func TestConnectTunnel(t *testing.T) {
	e := newEnv(t, Options{})
	proxy, _ := url.Parse(e.s.URL())
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: e.s.CertPool(), MinVersion: tls.VersionTLS12}}}
	req, _ := http.NewRequest(http.MethodPost, "https://missing.scm."+e.s.SCMSuffix()+"/api/publish", strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer "+e.s.Token())
	req.Header.Set("Content-Type", "application/zip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("through the tunnel: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("publish to a missing site through the tunnel: %d, want 404", resp.StatusCode)
	}
}
