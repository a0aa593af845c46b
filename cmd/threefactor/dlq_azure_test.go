package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"

	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner/sbrest"
)

// TestDlqAzure: the CLI, run as a process with the environment the emulator kit gives (the fake's
// service principal, authority host and CA, HTTPS_PROXY tunnelling namespaces to the fake), finds
// an azure handler's dead-letter queue in the state and lists, replays and purges it; a topic
// handler's replay is refused, saying why.
func TestDlqAzure(t *testing.T) {
	bin := kitBinary(t)
	ctx := context.Background()
	fake := azurefake.Require(t, azurefake.Options{ClientID: azurefake.DefaultClientID, ClientSecret: azurefake.DefaultClientSecret, RetryAfter: 1})
	proxy, err := startTunnelProxy(fake.Addr(), fake.SCMSuffix(), azurefake.ServiceBusSuffix)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.close()
	opts := fake.ClientOptions()
	opts.DisableRPRegistration = true
	nsc, err := armservicebus.NewNamespacesClient(fake.Subscription(), fake.StaticCredential(), opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nsc.BeginCreateOrUpdate(ctx, fake.ResourceGroup(), "shop-bus", armservicebus.SBNamespace{Location: to.Ptr(azurefake.DefaultLocation), SKU: &armservicebus.SBSKU{Name: to.Ptr(armservicebus.SKUNameStandard)}}, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	queues, err := armservicebus.NewQueuesClient(fake.Subscription(), fake.StaticCredential(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, q := range []string{"orders--dlq", "orders--queue"} {
		r, err := queues.CreateOrUpdate(ctx, fake.ResourceGroup(), "shop-bus", q, armservicebus.SBQueue{Properties: &armservicebus.SBQueueProperties{}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[q] = *r.ID
	}
	sb := &sbrest.Client{Host: "shop-bus." + azurefake.ServiceBusSuffix, HTTP: fake.HTTPClient(), Cred: fake.StaticCredential()}
	if err := sb.Send(ctx, "orders--dlq", sbrest.Message{ID: "m-1", Body: []byte(`{"order_id":"o-1"}`), Properties: map[string]string{"ce-id": `"e1"`}}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	state := func(kind string) string {
		b, _ := json.Marshal(map[string]any{"format_version": "1.0", "values": map[string]any{"root_module": map[string]any{"resources": []any{
			map[string]any{"address": "threefactor_eventhandler.orders", "type": "threefactor_eventhandler", "values": map[string]any{
				"id": "azure/" + fake.Subscription() + "/" + fake.ResourceGroup() + "/orders", "name": "orders", "cloud": "azure",
				"function": map[string]any{"runtime": "go", "timeout_s": 10},
				"trigger":  map[string]any{"kind": kind, "enabled": true, "batch_size": 1},
				"components": map[string]any{"queue": ids["orders--queue"], "subscription": ids["orders--queue"], "dead_letter": ids["orders--dlq"],
					"dedup_table": "/subscriptions/" + fake.Subscription() + "/resourceGroups/" + fake.ResourceGroup() + "/providers/Microsoft.DocumentDB/databaseAccounts/shop/sqlDatabases/orders/containers/dedup"},
			}},
		}}}})
		return string(b)
	}
	tofu := filepath.Join(dir, "tofu")
	cli := func(kind string, args ...string) (string, string, error) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "show.json"), []byte(state(kind)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tofu, []byte("#!/bin/sh\ncat "+filepath.Join(dir, "show.json")+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, append([]string{"dlq", "--tofu", tofu}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
			"AZURE_TENANT_ID=" + fake.Tenant(), "AZURE_CLIENT_ID=" + azurefake.DefaultClientID, "AZURE_CLIENT_SECRET=" + azurefake.DefaultClientSecret,
			"AZURE_AUTHORITY_HOST=" + fake.URL() + "/", "SSL_CERT_FILE=" + fake.CAFile(), "HTTPS_PROXY=" + proxy.url, "NO_PROXY=127.0.0.1,localhost"}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	out, errOut, err := cli("queue", "orders", "list")
	var listed struct {
		ID         string            `json:"id"`
		Attributes map[string]string `json:"attributes"`
	}
	if err != nil || json.Unmarshal([]byte(out), &listed) != nil || listed.ID != "m-1" || listed.Attributes["Ce-Id"] != "e1" {
		t.Fatalf("dlq orders list: %v, %q, %s; want m-1 as a JSON line", err, out, errOut)
	}
	if out, errOut, err := cli("topic", "orders", "replay"); err == nil || !strings.Contains(errOut, "every subscription") {
		t.Errorf("replay of a topic handler: %v, %q, %s; want a refusal saying why", err, out, errOut)
	}
	if out, errOut, err := cli("queue", "orders", "replay", "m-1"); err != nil || out != "replayed m-1\n" {
		t.Fatalf("dlq orders replay m-1: %v, %q, %s", err, out, errOut)
	}
	if m, err := sb.PeekLock(ctx, "orders--queue", 0); err != nil || m == nil || string(m.Body) != `{"order_id":"o-1"}` {
		t.Fatalf("the replayed copy in orders--queue: %+v, %v", m, err)
	}
	if err := sb.Send(ctx, "orders--dlq", sbrest.Message{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := cli("queue", "orders", "purge"); err != nil || !strings.Contains(errOut, "purged 1 messages") {
		t.Errorf("dlq orders purge: %v, %s", err, errOut)
	}
	if a, d, err := sb.Counts(ctx, "orders--dlq"); err != nil || a+d != 0 {
		t.Errorf("after purge: %d, %d, %v; want an empty dead-letter queue", a, d, err)
	}
}
