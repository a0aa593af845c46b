package runner

import (
	"strings"
	"testing"
)

// showJSON is `tofu show -json` of a state with a handler in a child module, trimmed to what the
// runner reads, and another resource.
const showJSON = `{"format_version":"1.0","values":{"root_module":{"resources":[{"address":"terraform_data.x","type":"terraform_data","values":{}}],
"child_modules":[{"resources":[{"address":"module.m.threefactor_eventhandler.orders","type":"threefactor_eventhandler","values":{
 "id":"aws/eu-west-1/orders","name":"orders","cloud":"aws",
 "function":{"runtime":"go","entry_point":"bootstrap","source_dir":"build","source_zip":null,"memory_mb":256,"timeout_s":3,
   "environment":{"ORDER_STATUSES":"placed"},"secret_environment":{"API_KEY":"s3cret"},"max_concurrency":null,
   "tables":{"orders":{"table_id":"arn:aws:dynamodb:eu-west-1:123456789012:table/shop-orders","access":"read_write"}}},
 "trigger":{"kind":"queue","enabled":false,"batch_size":10,"batch_window_s":0},
 "retry":{"max_attempts":3},"dedup":{"ttl_s":86400},
 "function_id":"arn:aws:lambda:eu-west-1:123456789012:function:orders",
 "components":{"queue":"http://127.0.0.1:5000/123456789012/orders--queue","dead_letter":"http://127.0.0.1:5000/123456789012/orders--dlq",
   "dedup_table":"arn:aws:dynamodb:eu-west-1:123456789012:table/orders--dedup"}}}]}]}}}`

func TestHandlers(t *testing.T) {
	hs, err := Handlers([]byte(showJSON), "/cfg")
	if err != nil || len(hs) != 1 {
		t.Fatalf("Handlers = %+v, %v; want one handler", hs, err)
	}
	h := hs[0]
	if h.Region != "eu-west-1" || h.SourceDir != "/cfg/build" || h.Enabled || h.MaxAttempts != 3 || h.TimeoutS != 3 ||
		h.QueueURL != "http://127.0.0.1:5000/123456789012/orders--queue" || h.DeadLetterURL != "http://127.0.0.1:5000/123456789012/orders--dlq" {
		t.Errorf("handler %+v", h)
	}
	// The environment the driver gives the function: the user's, the secret and the injected (a
	// granted table's included).
	want := map[string]string{
		"ORDER_STATUSES": "placed", "API_KEY": "s3cret", "THREEFACTOR_TABLE_ORDERS": "dynamodb://shop-orders?region=eu-west-1", "THREEFACTOR_HANDLER": "orders", "THREEFACTOR_CLOUD": "aws",
		"THREEFACTOR_DEDUP_STORE": "dynamodb://orders--dedup?region=eu-west-1", "THREEFACTOR_DEDUP_TTL_S": "86400", "THREEFACTOR_TIMEOUT_S": "3",
	}
	for k, v := range want {
		if h.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, h.Env[k], v)
		}
	}
}

// gcpShowJSON is a Google handler's state, trimmed to what the runner reads.
const gcpShowJSON = `{"format_version":"1.0","values":{"root_module":{"resources":[{"address":"threefactor_eventhandler.orders","type":"threefactor_eventhandler","values":{
 "id":"gcp/shop/europe-west1/orders","name":"orders","cloud":"gcp",
 "function":{"runtime":"go","entry_point":"HandleOrders","source_dir":"fn","memory_mb":256,"timeout_s":10,
   "environment":{"ORDERS_COLLECTION":"orders"},"secret_environment":null,"max_concurrency":2,"tables":null},
 "trigger":{"kind":"topic","enabled":false,"batch_size":1,"batch_window_s":0},
 "retry":{"max_attempts":5},"dedup":{"ttl_s":3600},"publish_target":"projects/shop/topics/orders--topic",
 "components":{"subscription":"projects/shop/subscriptions/orders--push","dead_letter":"projects/shop/topics/orders--dlq",
   "dead_letter_subscription":"projects/shop/subscriptions/orders--dead-letters","dedup_table":"projects/shop/databases/orders--dedup"}}}]}}}`

func TestHandlersGCP(t *testing.T) {
	hs, err := Handlers([]byte(gcpShowJSON), "/cfg")
	if err != nil || len(hs) != 1 {
		t.Fatalf("Handlers = %+v, %v; want one handler", hs, err)
	}
	h := hs[0]
	if h.Project != "shop" || h.Region != "europe-west1" || h.SourceDir != "/cfg/fn" || h.MaxAttempts != 5 || h.Topic != "projects/shop/topics/orders--topic" ||
		h.Subscription != "projects/shop/subscriptions/orders--push" || h.DeadLetterSubscription != "projects/shop/subscriptions/orders--dead-letters" {
		t.Errorf("handler %+v", h)
	}
	for k, v := range map[string]string{
		"ORDERS_COLLECTION": "orders", "THREEFACTOR_CLOUD": "gcp", "THREEFACTOR_HANDLER": "orders", "THREEFACTOR_TIMEOUT_S": "10",
		"THREEFACTOR_DEDUP_STORE": "firestore://projects/shop/databases/orders--dedup/documents/dedup",
	} {
		if h.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, h.Env[k], v)
		}
	}
	for _, c := range []struct{ from, to, want string }{
		{`"gcp/shop/europe-west1/orders"`, `"gcp/shop/orders"`, "is not gcp/<project>/<region>/<name>"},
		{`"dedup_table":"projects/shop/databases/orders--dedup"`, `"dedup_table":""`, "run tofu apply"},
	} {
		if _, err := Handlers([]byte(strings.Replace(gcpShowJSON, c.from, c.to, 1)), "."); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error saying %q", c.to, err, c.want)
		}
	}
}

// A java21 function on Google is not run, and says why; a go one without go.mod says what it needs.
func TestPrepareGCP(t *testing.T) {
	_, err := prepareGCP(t.Context(), &Handler{Runtime: "java21"}, t.TempDir(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "java21 functions on Google are not run locally") || !strings.Contains(err.Error(), "stay in its subscription") {
		t.Errorf("java21: %v; want an error saying it is not run and its messages stay", err)
	}
	if _, err := prepareGCP(t.Context(), &Handler{Runtime: "go"}, t.TempDir(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("go without go.mod: %v; want an error naming go.mod", err)
	}
}

func TestHandlersErrors(t *testing.T) {
	if _, err := Handlers([]byte("not json"), "."); err == nil || !strings.Contains(err.Error(), "tofu show -json") {
		t.Errorf("bad JSON: %v; want an error naming tofu show -json", err)
	}
	if hs, err := Handlers([]byte(`{"format_version":"1.0"}`), "."); err != nil || len(hs) != 0 {
		t.Errorf("empty state = %v, %v; want no handler", hs, err)
	}
	bad := strings.Replace(showJSON, `"aws/eu-west-1/orders"`, `"orders"`, 1)
	if _, err := Handlers([]byte(bad), "."); err == nil || !strings.Contains(err.Error(), "module.m.threefactor_eventhandler.orders") {
		t.Errorf("bad id: %v; want an error naming the resource", err)
	}
}

func TestPrepareJava(t *testing.T) {
	_, err := prepare(&Handler{Runtime: "java21"}, t.TempDir(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "Java 21") || !strings.Contains(err.Error(), "stay in its queue") {
		t.Errorf("java21: %v; want an error saying Java 21 is needed and the events stay", err)
	}
}

func TestItemFailures(t *testing.T) {
	batch := map[string]bool{"m1": true, "m2": true}
	for body, want := range map[string]string{
		``: "", `null`: "", `{}`: "", `{"batchItemFailures":[]}`: "", `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`: "m2",
		`{"batchItemFailures":[{"itemIdentifier":""}]}`: "all", `{"batchItemFailures":[{}]}`: "all", `{"batchItemFailures":[{"itemIdentifier":"m9"}]}`: "all", `{oops`: "all",
	} {
		failed, why := itemFailures([]byte(body), batch)
		got := ""
		switch {
		case len(failed) == 2 && why != "":
			got = "all"
		case len(failed) == 1 && failed["m2"]:
			got = "m2"
		case len(failed) != 0:
			got = "?"
		}
		if got != want {
			t.Errorf("response %q fails %q (%v, %q), want %q", body, got, failed, why, want)
		}
	}
}
