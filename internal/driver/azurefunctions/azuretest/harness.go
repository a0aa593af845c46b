// Package azuretest is the drivertest.Harness of the Azure driver: the fake Resource Manager
// (acctest/azurefake) over TLS with its test CA, reached with the SDK's real clients and pollers.
// The driver's conformance tests and the provider's acceptance tests share it.
package azuretest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Code is a minimal Node.js package.
var Code = func() *driver.Code {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.js")
	_, _ = w.Write([]byte("module.exports = async () => {};\n"))
	_ = zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return &driver.Code{Zip: buf.Bytes(), Hash: hex.EncodeToString(sum[:])}
}()

// Harness is the drivertest.Harness of the Azure driver.
type Harness struct {
	Fake    *azurefake.Server
	D       *azurefunctions.Driver
	sources []string
}

// New starts a fake of its own for t and a driver against it.
func New(ctx context.Context, t testing.TB) (*Harness, error) {
	s := azurefake.Require(t, azurefake.Options{RetryAfter: 5 * time.Millisecond})
	d, err := azurefunctions.New(ctx, Config(s))
	if err != nil {
		return nil, err
	}
	return &Harness{Fake: s, D: d}, nil
}

// Config is a driver configuration against fake s.
func Config(s *azurefake.Server) azurefunctions.Config {
	return azurefunctions.Config{
		Subscription: s.Subscription(), ResourceGroup: s.ResourceGroup(), Location: azurefake.DefaultLocation,
		Endpoint: s.URL(), SCMSuffix: s.SCMSuffix(), Credential: s.StaticCredential(), Transport: s.HTTPClient(),
		PollFrequency: 10 * time.Millisecond, MaxRetries: 3,
	}
}

func (h *Harness) Driver() driver.Driver { return h.D }
func (h *Harness) Cloud() *driver.Cloud  { return azurefunctions.Cloud }
func (h *Harness) Code() *driver.Code    { return Code }
func (h *Harness) Close()                {}
func (h *Harness) FailCreate(c driver.Component) {
	h.Fake.Fail(http.MethodPut, CreatePattern(c), http.StatusBadRequest, "InvalidParameter")
}

// PutItem implements drivertest.ItemPutter: it writes an item into a table's container in the
// fake's state (the fake serves no Cosmos DB data plane).
func (h *Harness) PutItem(_ context.Context, tableID, key string) error {
	return h.Fake.PutDocument(tableID, key)
}

// LoseCreateResponse makes the request that creates component c take effect and lose its response.
func (h *Harness) LoseCreateResponse(c driver.Component) {
	h.Fake.LoseResponse(http.MethodPut, CreatePattern(c))
}

// CreatePattern is the path pattern of the request that creates component c.
func CreatePattern(c driver.Component) string {
	return map[driver.Component]string{
		driver.Identity:               "**/userAssignedIdentities/*",
		azurefunctions.StorageAccount: "**/storageAccounts/*",
		azurefunctions.Namespace:      "**/Microsoft.ServiceBus/namespaces/*",
		azurefunctions.CosmosAccount:  "**/databaseAccounts/*",
		driver.DedupTable:             "**/sqlDatabases/*",
		driver.DeadLetter:             "**/queues/*--dlq",
		driver.Topic:                  "**/topics/*--topic",
		driver.Queue:                  "**/queues/*--queue",
		driver.Subscription:           "**/topics/*/subscriptions/*",
		azurefunctions.ReceiverGrant:  "**/Microsoft.ServiceBus/**/roleAssignments/*",
		azurefunctions.StorageGrant:   "**/storageAccounts/*/providers/Microsoft.Authorization/roleAssignments/*",
		azurefunctions.DedupGrant:     "**/sqlRoleAssignments/*",
		azurefunctions.Workspace:      "**/Microsoft.OperationalInsights/workspaces/*",
		driver.Logs:                   "**/Microsoft.Insights/components/*",
		azurefunctions.MetricsGrant:   "**/Microsoft.Insights/components/*/providers/Microsoft.Authorization/roleAssignments/*",
		azurefunctions.Plan:           "**/serverfarms/*",
		driver.Function:               "**/Microsoft.Web/sites/*",
	}[c]
}

// Remove deletes component c behind the driver's back, with a raw ARM DELETE.
func (h *Harness) Remove(ctx context.Context, st driver.State, c driver.Component) error {
	id := st.Get(c)
	if id == "" {
		return fmt.Errorf("state records no %s", c)
	}
	switch c {
	case driver.DedupTable:
		id = id[:strings.Index(id, "/containers/")]
	case azurefunctions.Plan:
		// Azure refuses to delete a plan that has apps: its app goes first, as a user would do.
		if err := h.Delete(ctx, st.Get(driver.Function)); err != nil {
			return err
		}
	}
	return h.Delete(ctx, id)
}

// Delete deletes the resource of an ARM id through a pipeline of the fake's, waiting for its
// operation.
func (h *Harness) Delete(ctx context.Context, id string) error {
	c, err := arm.NewClient("azuretest", "v0.0.1", h.Fake.StaticCredential(), h.Fake.ClientOptions())
	if err != nil {
		return err
	}
	req, err := runtime.NewRequest(ctx, http.MethodDelete, h.Fake.URL()+id+"?api-version="+apiVersion(id))
	if err != nil {
		return err
	}
	resp, err := c.Pipeline().Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("DELETE %s: %s", id, resp.Status)
	}
	// Wait until it is gone.
	for range 500 {
		req, _ := runtime.NewRequest(ctx, http.MethodGet, h.Fake.URL()+id+"?api-version="+apiVersion(id))
		r, err := c.Pipeline().Do(req)
		if err != nil {
			return err
		}
		if r.StatusCode == http.StatusNotFound {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s still exists", id)
}

func apiVersion(id string) string {
	l := strings.ToLower(id)
	switch {
	case strings.Contains(l, "/providers/microsoft.authorization/"):
		return "2022-04-01"
	case strings.Contains(l, "microsoft.servicebus"):
		return "2021-11-01"
	case strings.Contains(l, "microsoft.documentdb"):
		return "2024-05-15"
	case strings.Contains(l, "microsoft.managedidentity"):
		return "2024-11-30"
	case strings.Contains(l, "microsoft.storage"):
		return "2024-01-01"
	case strings.Contains(l, "microsoft.operationalinsights"):
		return "2022-10-01"
	case strings.Contains(l, "microsoft.insights"):
		return "2020-02-02"
	}
	return "2023-12-01"
}

// Leftovers lists every resource the fake holds but the sources ExistingSource made (and their
// namespace).
func (h *Harness) Leftovers(context.Context) ([]string, error) {
	var out []string
	for _, r := range h.Fake.Leftovers() {
		keep := true
		for _, s := range h.sources {
			if strings.HasSuffix(strings.ToLower(r), strings.ToLower(s)) {
				keep = false
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out, nil
}

// ExistingSource creates a queue or topic in a namespace of its own, as a user's existing one.
func (h *Harness) ExistingSource(ctx context.Context, kind spec.TriggerKind) (string, error) {
	return h.ExistingSourceIn(ctx, kind, h.Fake.ResourceGroup())
}

// ExistingSourceIn creates a queue or topic in a namespace of its own in resource group rg (one of
// the fake's): "existing-<kind>-ns" in the driver's group, "<rg>-<kind>-ns" in another.
func (h *Harness) ExistingSourceIn(ctx context.Context, kind spec.TriggerKind, rg string) (string, error) {
	c, err := arm.NewClient("azuretest", "v0.0.1", h.Fake.StaticCredential(), h.Fake.ClientOptions())
	if err != nil {
		return "", err
	}
	put := func(id, body string) error { return h.Call(ctx, http.MethodPut, id+"?api-version=2021-11-01", body) }
	name := "existing-" + string(kind) + "-ns"
	if !strings.EqualFold(rg, h.Fake.ResourceGroup()) {
		name = rg + "-" + string(kind) + "-ns"
	}
	ns := "/subscriptions/" + h.Fake.Subscription() + "/resourceGroups/" + rg + "/providers/Microsoft.ServiceBus/namespaces/" + name
	if err := put(ns, `{"location":"`+azurefake.DefaultLocation+`","sku":{"name":"Standard"},"properties":{"disableLocalAuth":true}}`); err != nil {
		return "", err
	}
	for range 500 {
		req, _ := runtime.NewRequest(ctx, http.MethodGet, h.Fake.URL()+ns+"?api-version=2021-11-01")
		r, err := c.Pipeline().Do(req)
		if err != nil {
			return "", err
		}
		var body struct {
			Properties struct{ ProvisioningState string } `json:"properties"`
		}
		_ = runtime.UnmarshalAsJSON(r, &body)
		if body.Properties.ProvisioningState == "Succeeded" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	id := ns + "/queues/existing"
	if kind == spec.Topic {
		id = ns + "/topics/existing"
	}
	if err := put(id, `{"properties":{}}`); err != nil {
		return "", err
	}
	h.sources = append(h.sources, ns, id)
	return id, nil
}

// Call sends method with a JSON body to path (with its api-version) on the fake, behind the
// driver's back, and returns the ARM error of an answer that is not a success.
func (h *Harness) Call(ctx context.Context, method, path, body string) error {
	_, err := h.Do(ctx, method, path, body)
	return err
}

// Do is Call returning the answer's JSON body (nil when it has none).
func (h *Harness) Do(ctx context.Context, method, path, body string) (map[string]any, error) {
	c, err := arm.NewClient("azuretest", "v0.0.1", h.Fake.StaticCredential(), h.Fake.ClientOptions())
	if err != nil {
		return nil, err
	}
	req, err := runtime.NewRequest(ctx, method, h.Fake.URL()+path)
	if err != nil {
		return nil, err
	}
	if body != "" {
		if err := req.SetBody(streaming.NopCloser(strings.NewReader(body)), "application/json"); err != nil {
			return nil, err
		}
	}
	resp, err := c.Pipeline().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, runtime.NewResponseError(resp)
	}
	var out map[string]any
	if resp.ContentLength != 0 && resp.StatusCode != 204 {
		if err := runtime.UnmarshalAsJSON(resp, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Pause sets the handler's queue or subscription to ReceiveDisabled behind the driver's back, as
// someone pausing delivery in the portal would.
func (h *Harness) Pause(ctx context.Context, st driver.State) error {
	id := st.Get(driver.Queue)
	if id == "" {
		id = st.Get(driver.Subscription)
	}
	c, err := arm.NewClient("azuretest", "v0.0.1", h.Fake.StaticCredential(), h.Fake.ClientOptions())
	if err != nil {
		return err
	}
	get, err := runtime.NewRequest(ctx, http.MethodGet, h.Fake.URL()+id+"?api-version=2021-11-01")
	if err != nil {
		return err
	}
	resp, err := c.Pipeline().Do(get)
	if err != nil {
		return err
	}
	var body map[string]any
	if err := runtime.UnmarshalAsJSON(resp, &body); err != nil {
		return err
	}
	props, _ := body["properties"].(map[string]any)
	props["status"] = "ReceiveDisabled"
	for _, k := range []string{"countDetails", "messageCount", "sizeInBytes", "createdAt", "updatedAt", "accessedAt"} {
		delete(props, k)
	}
	// Service Bus reports "never" as the largest TimeSpan, which it does not take back.
	for _, k := range []string{"defaultMessageTimeToLive", "autoDeleteOnIdle"} {
		if v, _ := props[k].(string); strings.HasPrefix(v, "P10675199D") {
			delete(props, k)
		}
	}
	put, err := runtime.NewRequest(ctx, http.MethodPut, h.Fake.URL()+id+"?api-version=2021-11-01")
	if err != nil {
		return err
	}
	if err := runtime.MarshalAsJSON(put, map[string]any{"properties": props}); err != nil {
		return err
	}
	resp, err = c.Pipeline().Do(put)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("PUT %s: %s", id, resp.Status)
	}
	return nil
}
