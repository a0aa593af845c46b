package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions/gcptest"
)

// TestAccEventHandlerGCP_deadLetter deploys examples/handler-go-gcp (the library's Google example)
// with the provider, runs the function's own code where the fake Cloud Run function's URL points
// (built from the example, with the environment the provider gave the function, against the
// Firestore emulator), and publishes to the handler's topic on the Pub/Sub emulator, which pushes
// through the subscription the provider made: a message the function keeps refusing reaches the
// dead-letter subscription after retry.max_attempts deliveries, and one it accepts is delivered once.
func TestAccEventHandlerGCP_deadLetter(t *testing.T) {
	b := gcpBackend(t)
	h := b.Harness.(*gcptest.Harness)
	fs := gcloud.Firestore(t)
	src, err := filepath.Abs("../../examples/handler-go-gcp")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildExample(t, src)
	cfg := b.config("orders", src, `
  retry = { max_attempts = 5, min_backoff_s = 0 }`, `runtime     = "go"
    entry_point = "HandleOrders"
    environment = { ORDERS_COLLECTION = "orders" }`)
	cfg = strings.Replace(cfg, `runtime    = "nodejs22"`, "", 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(s *terraform.State) error {
				attrs := s.RootModule().Resources[resourceAddr].Primary.Attributes
				fn := h.Fake.Functions()[0]
				h.Fake.SetInvoke(proxyTo(t, runFunction(t, bin, fn, fs)))
				return deliver(t, h, attrs["publish_target"], attrs["components.dead_letter_subscription"], fn)
			},
		}},
	})
}

// buildExample builds the example's local runner (cmd/), as Google's build would build the module.
func buildExample(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "orders")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", dir, err, out)
	}
	return bin
}

// runFunction starts the function's code with the environment the provider set on it, on a free
// loopback port, against the Firestore emulator; it returns the function's base URL.
func runFunction(t *testing.T, bin string, fn *functionspb.Function, fs *gcloud.Emulator) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	env := append(os.Environ(), "PORT="+port, "HOST=127.0.0.1", fs.Env())
	for k, v := range fn.GetServiceConfig().GetEnvironmentVariables() {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			_ = c.Close()
			return base
		}
		if time.Now().After(deadline) {
			t.Fatal("the function did not listen within 30 s")
		}
	}
}

// proxyTo serves the fake function's URL with the running function.
func proxyTo(t *testing.T, base string) func(*functionspb.Function, []byte, http.ResponseWriter, *http.Request) {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	return func(_ *functionspb.Function, _ []byte, w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/"
		p.ServeHTTP(w, r)
	}
}

// deliver publishes an order event and a poison one to the handler's topic and checks what the
// push subscription and the dead-letter subscription did with them.
func deliver(t *testing.T, h *gcptest.Harness, topic, deadLetters string, fn *functionspb.Function) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	event := func(id, data string) *pubsubpb.PubsubMessage {
		return &pubsubpb.PubsubMessage{Data: []byte(data), Attributes: map[string]string{
			"ce-specversion": "1.0", "ce-id": id, "ce-source": "//shop/orders", "ce-type": "order.updated", "ce-sequence": "1",
		}}
	}
	if _, err := h.Topics.Publish(ctx, &pubsubpb.PublishRequest{Topic: topic, Messages: []*pubsubpb.PubsubMessage{
		event("good-1", `{"order_id": "o-1", "status": "placed"}`),
		event("poison-1", `{"order_id": "o-2"`), // malformed JSON: refused on every delivery
	}}); err != nil {
		return err
	}
	var dead *pubsubpb.ReceivedMessage
	for dead == nil {
		resp, err := h.Subs.Pull(ctx, &pubsubpb.PullRequest{Subscription: deadLetters, MaxMessages: 10})
		if err != nil {
			return fmt.Errorf("pulling the dead-letter subscription: %w", err)
		}
		for _, m := range resp.GetReceivedMessages() {
			if m.GetMessage().GetAttributes()["ce-id"] != "poison-1" {
				return fmt.Errorf("dead-lettered %q, want only the poison message", m.GetMessage().GetData())
			}
			dead = m
		}
		if dead == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	counts := map[string]int{}
	for _, inv := range h.Fake.Invocations() {
		if inv.Function == fn.GetName() {
			counts[ceID(t, inv.Body)]++
		}
	}
	if counts["poison-1"] != 5 || counts["good-1"] != 1 {
		return fmt.Errorf("deliveries per event %v: want the poison message 5 times (retry.max_attempts) and the good one once", counts)
	}
	if got := dead.GetMessage().GetAttributes()["CloudPubSubDeadLetterSourceDeliveryCount"]; got != "5" {
		return fmt.Errorf("dead letter's delivery count %q, want 5", got)
	}
	return nil
}

// ceID is the CloudEvents id of a push request's message.
func ceID(t *testing.T, body []byte) string {
	var push struct {
		Message struct {
			Attributes map[string]string `json:"attributes"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &push); err != nil {
		t.Errorf("push body %q: %v", body, err)
	}
	return push.Message.Attributes["ce-id"]
}
