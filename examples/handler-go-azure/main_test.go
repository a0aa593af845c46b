package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore/cosmostest"
	_ "github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/servicebus"
)

// binDir holds the handler built by build.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "handler-go-azure"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cosmostest.StopShared()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

// invocation is the request the Functions host sends the custom handler
// for a Service Bus message carrying a CloudEvent in the AMQP binding's
// application properties.
func invocation(msgID, ceID, seq, data string) []byte {
	b, _ := json.Marshal(map[string]any{
		"Data": map[string]any{"message": data},
		"Metadata": map[string]any{
			"MessageId": msgID, "DeliveryCount": 1, "ContentType": "application/json",
			"ApplicationProperties": map[string]any{
				"cloudEvents:specversion": "1.0", "cloudEvents:id": ceID, "cloudEvents:source": "//shop/orders",
				"cloudEvents:type": "order.updated", "cloudEvents:sequence": seq,
			},
			"sys": map[string]any{"MethodName": "orders", "UtcNow": time.Now().UTC().Format(time.RFC3339Nano)},
		},
	})
	return b
}

// deliveries: the late, duplicate and poison cases of the AWS example, one
// invocation each, with the status the host reads.
var deliveries = []struct {
	name string
	body []byte
	code int
}{
	{"shipped", invocation("m1", "e2", "2", `{"order_id":"o-1","status":"shipped"}`), http.StatusOK},
	{"late placed", invocation("m2", "e1", "1", `{"order_id":"o-1","status":"placed"}`), http.StatusOK},
	{"redelivery", invocation("m1", "e2", "2", `{"order_id":"o-1","status":"shipped"}`), http.StatusOK},
	{"resent", invocation("m3", "e2", "2", `{"order_id":"o-1","status":"shipped"}`), http.StatusOK},
	{"poison", invocation("m4", "e3", "1", `not json`), http.StatusInternalServerError},
}

func TestHandlerKeepsLatestStatusOnce(t *testing.T) {
	t.Setenv(handler.EnvDedupStore, "mem://")
	t.Setenv(handler.EnvHandler, "orders")
	p, err := newProcessor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := mux(p)
	for _, d := range deliveries {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/orders", bytes.NewReader(d.body)))
		if w.Code != d.code {
			t.Errorf("%s: status %d (%s); want %d", d.name, w.Code, strings.TrimSpace(w.Body.String()), d.code)
		}
	}
	st, err := p.Store().GetState(context.Background(), "orders", "o-1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Attributes["status"] != "shipped" || st.Attributes["last_event"] != "e2" || st.Version != 2 {
		t.Errorf("order state = %+v; want shipped from e2 at version 2", st)
	}
}

// The built handler, started as the Functions host starts a custom handler
// (FUNCTIONS_CUSTOMHANDLER_PORT) with the app settings the provider writes,
// answers real invocations and keeps its state and dedup records in the
// Cosmos emulator's container.
func TestHandlerOnCosmosEmulator(t *testing.T) {
	bin := build(t)
	emu := cosmostest.Shared(t)
	db := emu.Database(t)
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"FUNCTIONS_CUSTOMHANDLER_PORT="+port,
		handler.EnvHandler+"=orders", handler.EnvCloud+"=azure",
		handler.EnvDedupStore+"="+emu.URL(db),
		handler.EnvDedupTTL+"=86400", handler.EnvTimeout+"=60",
		"THREEFACTOR_QUEUE=orders", "THREEFACTOR_SERVICEBUS__fullyQualifiedNamespace=shop.servicebus.windows.net",
		// For the emulator only: its key and its certificate.
		cosmosstore.EnvKey+"="+cosmostest.Key, "SSL_CERT_FILE="+emu.CertFile,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("handler output:\n%s", out.String())
		}
	})
	url := "http://127.0.0.1:" + port + "/orders"
	waitServing(t, url)
	for _, d := range deliveries {
		resp, err := http.Post(url, "application/json", bytes.NewReader(d.body))
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		var body servicebus.Response
		err = json.NewDecoder(resp.Body).Decode(&body)
		_ = resp.Body.Close()
		if resp.StatusCode != d.code || err != nil || body.Outputs == nil {
			t.Errorf("%s: status %d (outcome %s), body %+v, %v; want %d with a custom handler response", d.name, resp.StatusCode, resp.Header.Get(servicebus.OutcomeHeader), body, err, d.code)
		}
	}
	ctx := context.Background()
	c, err := emu.Client(t).NewContainer(db, cosmostest.Container)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.ReadItem(ctx, azcosmos.NewPartitionKeyString(cosmosstore.EntityPK("orders", "o-1")), cosmosstore.EntityID("o-1"), nil)
	if err != nil {
		t.Fatalf("reading the order: %v", err)
	}
	var order map[string]any
	if err := json.Unmarshal(resp.Value, &order); err != nil {
		t.Fatal(err)
	}
	if order["status"] != "shipped" || order["last_event"] != "e2" || order["version"] != float64(2) || order["version_event"] != "ce/%2F%2Fshop%2Forders/e2" || order["ttl"] != float64(-1) {
		t.Errorf("order item = %v; want shipped from e2 at version 2, ttl -1", order)
	}
	// One dedup record per applied event, in the order's partition.
	pager := c.NewQueryItemsPager("SELECT * FROM c WHERE c.kind = 'dedup'", azcosmos.NewPartitionKey(), nil)
	var keys []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Items {
			var rec struct {
				Key string `json:"key"`
				PK  string `json:"pk"`
				TTL int    `json:"ttl"`
			}
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			if rec.PK != cosmosstore.EntityPK("orders", "o-1") || rec.TTL < 86400 {
				t.Errorf("record %s: pk %q, ttl %d; want the order's partition and a ttl of at least the dedup TTL", rec.Key, rec.PK, rec.TTL)
			}
			keys = append(keys, rec.Key)
		}
	}
	sort.Strings(keys)
	if got, want := strings.Join(keys, ","), "orders/ce/%2F%2Fshop%2Forders/e2"; got != want {
		t.Errorf("dedup records = %s; want only %s (the stale event leaves none in Transactional mode)", got, want)
	}
}

// The function's bindings name the app settings the provider writes.
func TestFunctionJSONNamesProviderSettings(t *testing.T) {
	var fn struct {
		Bindings []map[string]string `json:"bindings"`
	}
	b, err := os.ReadFile(filepath.Join("orders", "function.json"))
	if err == nil {
		err = json.Unmarshal(b, &fn)
	}
	if err != nil || len(fn.Bindings) != 1 {
		t.Fatalf("orders/function.json: %v, %d bindings; want one", err, len(fn.Bindings))
	}
	got := fn.Bindings[0]
	want := map[string]string{"type": "serviceBusTrigger", "direction": "in", "name": servicebus.Binding, "connection": "THREEFACTOR_SERVICEBUS", "queueName": "%THREEFACTOR_QUEUE%"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("binding %s = %q; want %q", k, got[k], v)
		}
	}
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
		ExtensionBundle struct {
			ID string `json:"id"`
		} `json:"extensionBundle"`
	}
	if b, err = os.ReadFile("host.json"); err == nil {
		err = json.Unmarshal(b, &host)
	}
	if err != nil || host.CustomHandler.Description.DefaultExecutablePath != "handler" || host.ExtensionBundle.ID != "Microsoft.Azure.Functions.ExtensionBundle" {
		t.Errorf("host.json = %+v, %v; want the custom handler \"handler\" and the extension bundle", host, err)
	}
}

// An Azure handler carries no AWS or Google module: what `go version -m`
// lists of the built handler.
func TestBinaryCarriesNoAWSOrGoogleModules(t *testing.T) {
	bin := build(t)
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos") {
		t.Fatalf("go version -m lists no azcosmos module; is this the handler's binary?\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || (f[0] != "dep" && f[0] != "=>") {
			continue
		}
		for _, prefix := range []string{"github.com/aws/", "cloud.google.com/", "google.golang.org/", "github.com/GoogleCloudPlatform/"} {
			if strings.HasPrefix(f[1], prefix) {
				t.Errorf("the Azure handler links an AWS or Google module: %s", strings.TrimSpace(line))
			}
		}
	}
}

var built string

// build builds the handler once per test binary, as it is deployed.
func build(t *testing.T) string {
	t.Helper()
	if built != "" {
		return built
	}
	bin := filepath.Join(binDir, "handler")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	built = bin
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// waitServing polls until the handler answers (a GET is refused with 405).
func waitServing(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the handler did not answer on %s within 30s", url)
}
