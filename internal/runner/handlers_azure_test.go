package runner

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const azSub = "/subscriptions/00000000-0000-0000-0000-00000000a2e0/resourceGroups/rg/providers"

// azureShowJSON is `tofu show -json` of an azure handler of kind (queue or topic).
func azureShowJSON(kind, id string) []byte {
	return []byte(`{"format_version":"1.0","values":{"root_module":{"resources":[{"address":"threefactor_eventhandler.orders","type":"threefactor_eventhandler","values":{
 "id":"` + id + `","name":"orders","cloud":"azure",
 "function":{"runtime":"go","entry_point":"handler","source_dir":"build","memory_mb":2048,"timeout_s":30,"environment":{"ORDERS_TABLE":"orders"},
   "tables":{"shop":{"table_id":"` + azSub + `/Microsoft.DocumentDB/databaseAccounts/shop-acct/sqlDatabases/shop_table/containers/shop","access":"read"}}},
 "trigger":{"kind":"` + kind + `","enabled":true,"batch_size":1},"retry":{"max_attempts":5},"dedup":{"ttl_s":3600},
 "components":{"queue":"` + azSub + `/Microsoft.ServiceBus/namespaces/Shop-Bus/queues/orders--queue",
   "subscription":"` + azSub + `/Microsoft.ServiceBus/namespaces/shop-bus/topics/orders--topic/subscriptions/orders",
   "dead_letter":"` + azSub + `/Microsoft.ServiceBus/namespaces/shop-bus/queues/orders--dlq",
   "dedup_table":"` + azSub + `/Microsoft.DocumentDB/databaseAccounts/orders-abc/sqlDatabases/orders/containers/dedup"}}}]}}}`)
}

// TestHandlersAzure: an azure handler's queue or subscription and dead-letter queue become
// data-plane URLs, and its environment is the app settings its code reads.
func TestHandlersAzure(t *testing.T) {
	id := "azure/00000000-0000-0000-0000-00000000a2e0/rg/orders"
	for kind, want := range map[string]string{
		"queue": "https://shop-bus.servicebus.windows.net/orders--queue",
		"topic": "https://shop-bus.servicebus.windows.net/orders--topic/subscriptions/orders",
	} {
		hs, err := Handlers(azureShowJSON(kind, id), "/cfg")
		if err != nil || len(hs) != 1 {
			t.Fatalf("%s: Handlers = %+v, %v", kind, hs, err)
		}
		h := hs[0]
		if h.QueueURL != want || h.DeadLetterURL != "https://shop-bus.servicebus.windows.net/orders--dlq" || h.SourceDir != "/cfg/build" || !h.Enabled {
			t.Errorf("%s: handler %+v; want its entity at %s", kind, h, want)
		}
		for k, v := range map[string]string{
			"THREEFACTOR_DEDUP_STORE": "cosmos://orders-abc.documents.azure.com/orders/dedup", "THREEFACTOR_TABLE_SHOP": "cosmos://shop-acct.documents.azure.com/shop_table/shop",
			"THREEFACTOR_CLOUD": "azure", "THREEFACTOR_DEDUP_TTL_S": "3600", "ORDERS_TABLE": "orders",
		} {
			if h.Env[k] != v {
				t.Errorf("%s: env %s = %q, want %q", kind, k, h.Env[k], v)
			}
		}
		// The child's environment points cosmos:// URLs at the emulator, and at nothing else, and
		// takes the runner's credentials and emulator key, not its other variables.
		t.Setenv("THREEFACTOR_COSMOS_KEY", "k")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "not for azure")
		env := azureEnv(&h, "127.0.0.1:8081")
		if !slices.Contains(env, "THREEFACTOR_DEDUP_STORE=cosmos://127.0.0.1:8081/orders/dedup") || !slices.Contains(env, "ORDERS_TABLE=orders") ||
			!slices.Contains(env, "THREEFACTOR_COSMOS_KEY=k") || slices.ContainsFunc(env, func(v string) bool { return strings.HasPrefix(v, "AWS_") }) {
			t.Errorf("%s: child environment %v; want the dedup store at the emulator, the emulator's key and no AWS variable", kind, env)
		}
	}
	if _, err := Handlers(azureShowJSON("queue", "orders"), "."); err == nil || !strings.Contains(err.Error(), "azure/<subscription>/<resource_group>/<name>") {
		t.Errorf("bad id: %v; want an error saying the import id's form", err)
	}
	noDLQ := strings.Replace(string(azureShowJSON("queue", id)), `"dead_letter"`, `"x"`, 1)
	if _, err := Handlers([]byte(noDLQ), "."); err == nil || !strings.Contains(err.Error(), "run tofu apply") {
		t.Errorf("no dead-letter queue: %v; want an error saying to apply", err)
	}
}

func TestEntityURLErrors(t *testing.T) {
	for _, id := range []string{"orders", azSub + "/Microsoft.DocumentDB/databaseAccounts/a", azSub + "/Microsoft.ServiceBus/namespaces/shop-bus"} {
		if u, err := EntityURL(id); err == nil {
			t.Errorf("EntityURL(%q) = %q; want an error", id, u)
		}
	}
	for _, u := range []string{"http://shop-bus.servicebus.windows.net/q", "https://example.com/q", "https://shop-bus.servicebus.windows.net/", "%"} {
		if _, _, err := SplitEntityURL(u); err == nil || !strings.Contains(err.Error(), "<namespace>") {
			t.Errorf("SplitEntityURL(%q) = %v; want an error saying the form", u, err)
		}
	}
}

// TestCustomHandlerCode: the executable and function are found as the Functions host finds them,
// and code without them is refused, saying what is missing.
func TestCustomHandlerCode(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := serviceBusFunction(dir); err == nil || !strings.Contains(err.Error(), "serviceBusTrigger") {
		t.Errorf("no function.json: %v; want an error naming the trigger", err)
	}
	if _, err := customHandlerExecutable(dir, ""); err == nil || !strings.Contains(err.Error(), "handler") {
		t.Errorf("no executable: %v; want an error naming it", err)
	}
	write := func(name, body string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("host.json", `{"customHandler":{"description":{"defaultExecutablePath":"bin/app"}}}`, 0o644)
	write("bin/app", "#!/bin/sh\n", 0o755)
	write("http/function.json", `{"bindings":[{"type":"httpTrigger","name":"req"}]}`, 0o644)
	write("orders/function.json", `{"bindings":[{"type":"serviceBusTrigger","name":"msg"}]}`, 0o644)
	if exe, err := customHandlerExecutable(dir, "handler"); err != nil || exe != filepath.Join(dir, "bin/app") {
		t.Errorf("executable = %q, %v; want host.json's bin/app", exe, err)
	}
	if fn, b, err := serviceBusFunction(dir); err != nil || fn != "orders" || b != "msg" {
		t.Errorf("function = %q, %q, %v; want orders and msg", fn, b, err)
	}
	write("host.json", `{`, 0o644)
	if _, err := customHandlerExecutable(dir, ""); err == nil || !strings.Contains(err.Error(), "host.json") {
		t.Errorf("bad host.json: %v; want an error naming it", err)
	}
}
