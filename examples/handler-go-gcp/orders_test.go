package orders

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/firestorestore"
	"github.com/threefactor/terraform-provider-threefactor/handler/firestorestore/firestoretest"
	_ "github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/pubsubpush"
)

// binDir holds the function built by build.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "handler-go-gcp"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	firestoretest.StopShared()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

// push is a Pub/Sub push body carrying a binary-mode CloudEvent.
func push(msgID, ceID, seq, data string) []byte {
	b, _ := json.Marshal(map[string]any{
		"message": map[string]any{
			"data":        base64.StdEncoding.EncodeToString([]byte(data)),
			"attributes":  map[string]string{"ce-specversion": "1.0", "ce-id": ceID, "ce-source": "//shop/orders", "ce-type": "order.updated", "ce-sequence": seq},
			"messageId":   msgID,
			"message_id":  msgID,
			"publishTime": time.Now().UTC().Format(time.RFC3339Nano),
		},
		"subscription":    "projects/shop/subscriptions/orders-push",
		"deliveryAttempt": 1,
	})
	return b
}

// deliveries: the late, duplicate and poison cases of the AWS example, one
// request each, with the status Pub/Sub reads.
var deliveries = []struct {
	name string
	body []byte
	code int
}{
	{"shipped", push("m1", "e2", "2", `{"order_id":"o-1","status":"shipped"}`), http.StatusNoContent},
	{"late placed", push("m2", "e1", "1", `{"order_id":"o-1","status":"placed"}`), http.StatusNoContent},
	{"redelivery", push("m1", "e2", "2", `{"order_id":"o-1","status":"shipped"}`), http.StatusNoContent},
	{"republished", push("m3", "e2", "2", `{"order_id":"o-1","status":"shipped"}`), http.StatusNoContent},
	{"poison", push("m4", "e3", "1", `not json`), http.StatusInternalServerError},
}

func TestHandlerRefusesUnknownStatus(t *testing.T) {
	t.Setenv("ORDER_STATUSES", "placed,shipped")
	ev := handler.Event{Source: "/shop/orders", ID: "e9", Sequence: "3", Data: []byte(`{"order_id":"o-2","status":"refunded"}`)}
	if _, err := handle(context.Background(), ev); err == nil {
		t.Error("refunded accepted; want an error while ORDER_STATUSES lacks it")
	}
	t.Setenv("ORDER_STATUSES", "placed,shipped,refunded")
	if eff, err := handle(context.Background(), ev); err != nil || eff.State == nil {
		t.Errorf("refunded with ORDER_STATUSES listing it = %+v, %v; want a state write", eff, err)
	}
}

func TestHandlerKeepsLatestStatusOnce(t *testing.T) {
	t.Setenv(handler.EnvDedupStore, "mem://")
	t.Setenv(handler.EnvHandler, "orders")
	t.Setenv("ORDERS_COLLECTION", "orders")
	p, err := newProcessor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := pubsubpush.Handler(p, handle)
	for _, d := range deliveries {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(d.body)))
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

// The built function, started as Google's build starts it (the Functions
// Framework on PORT with FUNCTION_TARGET) with the environment the provider
// injects, answers real push requests and keeps its state and dedup
// records in the Firestore emulator's database.
func TestFunctionOnFirestoreEmulator(t *testing.T) {
	bin := build(t)
	emu := firestoretest.Shared(t)
	project := firestoretest.Project()
	client := emu.Client(t, project, firestoretest.Database)
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"PORT="+port, "HOST=127.0.0.1", "FUNCTION_TARGET=HandleOrders",
		firestoretest.EnvHost+"="+emu.Host,
		handler.EnvHandler+"=orders", handler.EnvCloud+"=gcp",
		handler.EnvDedupStore+"=firestore://projects/"+project+"/databases/"+firestoretest.Database+"/documents/dedup",
		handler.EnvDedupTTL+"=86400", handler.EnvTimeout+"=60",
		"ORDERS_COLLECTION=orders",
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
			t.Logf("function output:\n%s", out.String())
		}
	})
	url := "http://127.0.0.1:" + port + "/"
	waitServing(t, url)
	for _, d := range deliveries {
		resp, err := http.Post(url, "application/json", bytes.NewReader(d.body))
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != d.code {
			t.Errorf("%s: status %d (outcome %s); want %d", d.name, resp.StatusCode, resp.Header.Get(pubsubpush.OutcomeHeader), d.code)
		}
	}
	ctx := context.Background()
	snap, err := client.Collection("orders").Doc("o-1").Get(ctx)
	if err != nil {
		t.Fatalf("reading the order: %v", err)
	}
	if d := snap.Data(); d["status"] != "shipped" || d["last_event"] != "e2" || d["version"] != int64(2) || d["version_event"] != "ce/%2F%2Fshop%2Forders/e2" {
		t.Errorf("order document = %v; want shipped from e2 at version 2", d)
	}
	// One dedup record per applied event, expiring as a timestamp.
	docs, err := client.Collection("dedup").Documents(ctx).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, d := range docs {
		if _, ok := d.Data()[firestorestore.FieldExpiresAt].(time.Time); !ok {
			t.Errorf("record %s: expires_at %v is not a timestamp", d.Ref.ID, d.Data()[firestorestore.FieldExpiresAt])
		}
		keys = append(keys, fmt.Sprint(d.Data()[firestorestore.FieldKey]))
	}
	if got, want := strings.Join(keys, ","), "orders/ce/%2F%2Fshop%2Forders/e2"; got != want {
		t.Errorf("dedup records = %s; want only %s (the stale event leaves none in Transactional mode)", got, want)
	}
}

// A Google handler carries no AWS or Azure module: what `go version -m`
// lists of the built function.
func TestBinaryCarriesNoAWSOrAzureModules(t *testing.T) {
	bin := build(t)
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "cloud.google.com/go/firestore") {
		t.Fatalf("go version -m lists no Firestore module; is this the function's binary?\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && (f[0] == "dep" || f[0] == "=>") &&
			(strings.HasPrefix(f[1], "github.com/aws/aws-sdk-go-v2") || strings.HasPrefix(f[1], "github.com/aws/aws-lambda-go") || strings.HasPrefix(f[1], "github.com/aws/smithy-go") ||
				strings.HasPrefix(f[1], "github.com/Azure/") || strings.HasPrefix(f[1], "github.com/AzureAD/")) {
			t.Errorf("the Google function links an AWS or Azure module: %s", strings.TrimSpace(line))
		}
	}
}

var built string

// build builds cmd/ once per test binary.
func build(t *testing.T) string {
	t.Helper()
	if built != "" {
		return built
	}
	bin := filepath.Join(binDir, "orders")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd: %v\n%s", err, out)
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

// waitServing polls until the function answers (a GET is refused with 405).
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
	t.Fatalf("the function did not answer on %s within 30s", url)
}
