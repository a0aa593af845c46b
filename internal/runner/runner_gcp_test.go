package runner_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
	"github.com/threefactor/terraform-provider-threefactor/acctest/grpcproxy"
	"github.com/threefactor/terraform-provider-threefactor/internal/dlq"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// gbench is a Google handler's topics and subscriptions in the Pub/Sub emulator (behind a proxy
// that fails calls on demand) and its dedup database in the Firestore emulator, as the Google
// driver makes them with trigger.enabled = false.
type gbench struct {
	t         *testing.T
	proxy     *grpcproxy.Proxy
	fsHost    string
	psProject string
	fsProject string
	topics    *pubsub.TopicAdminClient
	subs      *pubsub.SubscriptionAdminClient
	fs        *firestore.Client
}

const database = "orders-dedup"

// maxAttempts is retry.max_attempts of every Google handler here: Pub/Sub's least.
const maxAttempts = 5

func newGBench(t *testing.T) *gbench {
	ps, fsEm := gcloud.PubSub(t), gcloud.Firestore(t)
	b := &gbench{t: t, proxy: grpcproxy.ForTest(t, ps.Host), fsHost: fsEm.Host, psProject: ps.Project(t), fsProject: fsEm.Project(t, database)}
	ctx := context.Background()
	var err error
	if b.topics, err = pubsub.NewTopicAdminClient(ctx, gcloud.ClientOptions(b.proxy.Addr)...); err != nil {
		t.Fatal(err)
	}
	if b.subs, err = pubsub.NewSubscriptionAdminClient(ctx, gcloud.ClientOptions(b.proxy.Addr)...); err != nil {
		t.Fatal(err)
	}
	if b.fs, err = firestore.NewClientWithDatabase(ctx, b.fsProject, database, fsEm.ClientOptions()...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.topics.Close(); _ = b.subs.Close(); _ = b.fs.Close() })
	return b
}

// handler makes name's topic, dead-letter topic, dead-letter subscription and paused push
// subscription (retry policy with no minimum backoff, dead-letter policy after maxAttempts), and
// returns the runner's view of examples/handler-go-gcp run from its source.
func (b *gbench) handler(name string, timeoutS int64, env map[string]string) runner.Handler {
	b.t.Helper()
	ctx := context.Background()
	p := "projects/" + b.psProject
	topic, dl := p+"/topics/"+name+"--queue", p+"/topics/"+name+"--dlq"
	push, dls := p+"/subscriptions/"+name+"--push", p+"/subscriptions/"+name+"--dead-letters"
	for _, n := range []string{topic, dl} {
		if _, err := b.topics.CreateTopic(ctx, &pubsubpb.Topic{Name: n}); err != nil {
			b.t.Fatal(err)
		}
	}
	// The provider's holds a message 60 s; 10 s keeps a test of a failed replay short.
	if _, err := b.subs.CreateSubscription(ctx, &pubsubpb.Subscription{Name: dls, Topic: dl, AckDeadlineSeconds: 10}); err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.subs.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: push, Topic: topic, AckDeadlineSeconds: int32(6 * timeoutS), PushConfig: &pubsubpb.PushConfig{},
		RetryPolicy:      &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(0), MaximumBackoff: durationpb.New(600 * time.Second)},
		DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{DeadLetterTopic: dl, MaxDeliveryAttempts: int32(maxAttempts)},
	}); err != nil {
		b.t.Fatal(err)
	}
	dir, err := filepath.Abs("../../examples/handler-go-gcp")
	if err != nil {
		b.t.Fatal(err)
	}
	fnEnv := map[string]string{"ORDERS_COLLECTION": "orders"}
	for k, v := range env {
		fnEnv[k] = v
	}
	sh := spec.Handler{Name: name, Cloud: gcpfunctions.Name, Dedup: spec.Dedup{TTLS: 3600}, Function: spec.Function{TimeoutS: timeoutS, Environment: fnEnv}}
	return runner.Handler{
		Name: name, Cloud: "gcp", Project: b.psProject, Runtime: "go", EntryPoint: "HandleOrders", SourceDir: dir,
		TimeoutS: timeoutS, MemoryMB: 256, MaxConcurrency: 2, Kind: "queue", BatchSize: 1, MaxAttempts: maxAttempts,
		Subscription: push, DeadLetterSubscription: dls, Topic: topic,
		Env: gcpfunctions.Env(&sh, "projects/"+b.fsProject+"/databases/"+database),
	}
}

// order publishes an order event as a binary-mode CloudEvent; seq is zero-padded, so that string
// and number order agree.
func (b *gbench) order(topic, id string, seq int, orderID, status string) {
	b.t.Helper()
	if _, err := b.topics.Publish(context.Background(), &pubsubpb.PublishRequest{Topic: topic, Messages: []*pubsubpb.PubsubMessage{{
		Data:       fmt.Appendf(nil, `{"order_id":%q,"status":%q}`, orderID, status),
		Attributes: map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-source": "/shop/orders", "ce-sequence": fmt.Sprintf("%03d", seq)},
	}}}); err != nil {
		b.t.Fatal(err)
	}
}

// status is an order's status in the orders collection of the dedup database.
func (b *gbench) status(orderID string) string {
	b.t.Helper()
	doc, err := b.fs.Collection("orders").Doc(orderID).Get(context.Background())
	if err != nil {
		return ""
	}
	s, _ := doc.Data()["status"].(string)
	return s
}

func (b *gbench) run(concurrency int64, hs ...runner.Handler) (runner.Stats, string) {
	b.t.Helper()
	var prog, log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stats, err := runner.Run(ctx, hs, runner.Options{PubSubHost: b.proxy.Addr, FirestoreHost: b.fsHost, UntilDrained: true, Progress: &prog, Log: &log, Concurrency: concurrency})
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("progress:\n%s\nlog:\n%s", prog.String(), log.String())
	if stats[0].State != "drained" {
		b.t.Fatalf("the run did not drain within two minutes: %+v", stats[0])
	}
	return stats[0], log.String()
}

func (b *gbench) letters(h runner.Handler) dlq.Subscriptions {
	return dlq.Subscriptions{Subs: b.subs, Topics: b.topics, Topic: h.Topic, DeadLetter: h.DeadLetterSubscription}
}

// deadLetters lists h's dead letters once n are there: Pub/Sub publishes a dead letter a few
// seconds after its last failed delivery (the emulator about 3 s).
func (b *gbench) deadLetters(h runner.Handler, n int) []dlq.Message {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		msgs, err := b.letters(h).List(ctx, 10)
		if err != nil || len(msgs) >= n {
			if err != nil {
				b.t.Fatal(err)
			}
			return msgs
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("%d dead letters after a minute (%+v), want %d", len(msgs), msgs, n)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestRunnerGCP_duplicatesAndReordering: a burst with duplicates and events out of order, delivered
// one message per request to examples/handler-go-gcp built from its source, leaves each order at
// its latest status in Firestore, applies each event at most once, and drops the rest.
func TestRunnerGCP_duplicatesAndReordering(t *testing.T) {
	b := newGBench(t)
	h := b.handler("orders", 10, nil)
	for _, e := range []struct {
		id       string
		seq      int
		order, s string
	}{
		{"o1-3", 3, "o-1", "shipped"}, {"o1-1", 1, "o-1", "placed"}, {"o2-1", 1, "o-2", "placed"}, {"o1-2", 2, "o-1", "paid"},
		{"o2-2", 2, "o-2", "paid"}, {"o1-3", 3, "o-1", "shipped"}, {"o3-1", 1, "o-3", "placed"}, {"o2-2", 2, "o-2", "paid"},
	} {
		b.order(h.Topic, e.id, e.seq, e.order, e.s)
	}
	s, log := b.run(0, h)
	for id, want := range map[string]string{"o-1": "shipped", "o-2": "paid", "o-3": "placed"} {
		if got := b.status(id); got != want {
			t.Errorf("order %s is %q, want %q", id, got, want)
		}
	}
	if s.Received != 8 || s.Succeeded != 8 || s.Failed != 0 || s.DeadLettered != 0 || s.Applied+s.Stale != 6 || s.Duplicates != 2 || s.Applied < 3 {
		t.Errorf("stats %+v; want 8 received and succeeded, applied + stale = 6, 2 duplicates, at least 3 applied", s)
	}
	if runner.Failed([]runner.Stats{s}) || !strings.Contains(log, "served by the Functions Framework") {
		t.Errorf("a run with no failure reports one, or the log does not say how the function runs")
	}
}

// TestRunnerGCP_poisonAndReplay: a poison event fails max_attempts deliveries and the emulator
// dead-letters it; replayed once the handler knows it, it is applied. The first replay's
// acknowledgement fails, so two copies reach the topic: the second is a duplicate.
func TestRunnerGCP_poisonAndReplay(t *testing.T) {
	b := newGBench(t)
	h := b.handler("orders", 10, map[string]string{"ORDER_STATUSES": "placed"})
	b.order(h.Topic, "o1-1", 1, "o-1", "placed")
	b.order(h.Topic, "o9-2", 2, "o-9", "refunded")
	s, _ := b.run(0, h)
	if s.DeadLettered != 1 || s.Failed != 5 || s.Applied != 1 || !runner.Failed([]runner.Stats{s}) {
		t.Fatalf("stats %+v; want the poison failed 5 times (max_attempts) and dead-lettered, the other applied", s)
	}
	listed := b.deadLetters(h, 1)
	if len(listed) != 1 || listed[0].Body != `{"order_id":"o-9","status":"refunded"}` || listed[0].Attributes["ce-id"] != "o9-2" || listed[0].ReceiveCount != 5 {
		t.Fatalf("List = %+v; want the poison event, delivered 5 times", listed)
	}
	if again := b.deadLetters(h, 1); len(again) != 1 {
		t.Fatalf("List hid or removed the message it listed: %+v", again)
	}

	// The first replay's acknowledgement fails: the message is in both, and the error says so.
	b.proxy.Fail(grpcproxy.Fault{Method: "/google.pubsub.v1.Subscriber/Acknowledge", Code: codes.PermissionDenied})
	if moved, err := b.letters(h).Replay(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "in both") {
		t.Fatalf("Replay with a failing acknowledgement = %v, %v (calls %v); want an error saying the message is in both", moved, err, b.proxy.Calls())
	}
	b.proxy.Reset()
	// It is held until its ack deadline ends (10 s here): replay it once it is back.
	var moved []string
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for len(moved) == 0 && ctx.Err() == nil {
		var err error
		if moved, err = b.letters(h).Replay(ctx, []string{listed[0].ID}); err != nil && !strings.Contains(err.Error(), "not in the dead-letter subscription") {
			t.Fatal(err)
		}
	}
	if !slices.Equal(moved, []string{listed[0].ID}) {
		t.Fatalf("Replay = %v; want %s replayed", moved, listed[0].ID)
	}
	h.Env["ORDER_STATUSES"] = "placed,refunded"
	s, _ = b.run(0, h)
	if s.Applied != 1 || s.Duplicates != 1 || s.Failed != 0 || b.status("o-9") != "refunded" {
		t.Errorf("after the replay: stats %+v, o-9 %q; want 1 applied, 1 duplicate, refunded", s, b.status("o-9"))
	}
	if left, err := b.letters(h).List(context.Background(), 10); err != nil || len(left) != 0 {
		t.Errorf("dead letters after the replay: %+v, %v; want none", left, err)
	}
}

// TestRunnerGCP_failures: a 500, a timeout and a crash nack the message, which the emulator
// dead-letters after max_attempts (5, Pub/Sub's least) deliveries; a 202 acknowledges it, as Pub/Sub
// acknowledges a push (the emulator itself nacks a pushed 202). A timed-out or crashed instance is
// replaced by a new process.
func TestRunnerGCP_failures(t *testing.T) {
	b := newGBench(t)
	dir, err := filepath.Abs("testdata/gofunction")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]int64{"ok": 0, "accepted": 0, "fail": 1, "sleep": 1, "exit": 1}
	var hs []runner.Handler
	for data := range cases {
		h := b.handler("h-"+data, 1, nil)
		h.SourceDir, h.EntryPoint, h.MaxConcurrency = dir, "Handle", 1
		if _, err := b.topics.Publish(context.Background(), &pubsubpb.PublishRequest{Topic: h.Topic, Messages: []*pubsubpb.PubsubMessage{{Data: []byte(data)}}}); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	var prog, log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stats, err := runner.Run(ctx, hs, runner.Options{PubSubHost: b.proxy.Addr, FirestoreHost: b.fsHost, UntilDrained: true, Progress: &prog, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("log:\n%s", log.String())
	for i, h := range hs {
		data, want := h.Name[2:], cases[h.Name[2:]]
		if s := stats[i]; s.DeadLettered != want || s.State != "drained" || s.Failed != 5*want || s.Succeeded != 1-want {
			t.Errorf("%s: stats %+v; want %d dead-lettered after %d failures", data, s, want, 5*want)
		}
		if got := len(b.deadLetters(h, int(want))); got != int(want) {
			t.Errorf("%s: %d dead letters, want %d", data, got, want)
		}
	}
	for _, want := range []string{"timed out after 1s (function.timeout_s)", "exit status 3"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log does not say %q", want)
		}
	}
}

// TestRunnerGCP_replayPublishFails: when the copy cannot be published, the dead letter stays in its
// subscription, and the error says so.
func TestRunnerGCP_replayPublishFails(t *testing.T) {
	b := newGBench(t)
	h := b.handler("orders", 10, nil)
	b.deadLetter(h, "poison")
	b.proxy.Fail(grpcproxy.Fault{Method: "/google.pubsub.v1.Publisher/Publish", Code: codes.PermissionDenied})
	if moved, err := b.letters(h).Replay(context.Background(), nil); err == nil || len(moved) != 0 || !strings.Contains(err.Error(), "stays in the dead-letter subscription") {
		t.Fatalf("Replay with a failing publish = %v, %v; want an error saying the message stays", moved, err)
	}
	if got := b.deadLetters(h, 1); len(got) != 1 || got[0].Body != "poison" {
		t.Errorf("dead letters %+v; want the message still there", got)
	}
	if n := b.pending(h.Subscription); n != 0 {
		t.Errorf("%d messages reached the handler's subscription, want 0", n)
	}
}

// TestRunnerGCP_purge: a purge whose acknowledgement fails keeps the dead letters and says so; then
// purge empties the subscription.
func TestRunnerGCP_purge(t *testing.T) {
	b := newGBench(t)
	h := b.handler("orders", 10, nil)
	b.deadLetter(h, "a")
	b.deadLetter(h, "b")
	b.deadLetters(h, 2)
	b.proxy.Fail(grpcproxy.Fault{Method: "/google.pubsub.v1.Subscriber/Acknowledge", Code: codes.PermissionDenied})
	if n, err := b.letters(h).Purge(context.Background()); err == nil || n != 0 || !strings.Contains(err.Error(), "they stay") {
		t.Fatalf("Purge with a failing acknowledgement = %d, %v; want an error saying they stay", n, err)
	}
	// Held by the failed purge until their ack deadline: purge until both are gone.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	purged := 0
	for purged < 2 && ctx.Err() == nil {
		n, err := b.letters(h).Purge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		purged += n
	}
	if left, err := b.letters(h).List(context.Background(), 10); purged != 2 || err != nil || len(left) != 0 {
		t.Errorf("purged %d, left %+v, %v; want 2 purged and none left", purged, left, err)
	}
}

// deadLetter publishes data to h's dead-letter topic, as Pub/Sub forwards a dead letter.
func (b *gbench) deadLetter(h runner.Handler, data string) {
	b.t.Helper()
	sub, err := b.subs.GetSubscription(context.Background(), &pubsubpb.GetSubscriptionRequest{Subscription: h.DeadLetterSubscription})
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.topics.Publish(context.Background(), &pubsubpb.PublishRequest{Topic: sub.GetTopic(), Messages: []*pubsubpb.PubsubMessage{{
		Data: []byte(data), Attributes: map[string]string{"CloudPubSubDeadLetterSourceDeliveryCount": "5"},
	}}}); err != nil {
		b.t.Fatal(err)
	}
}

// pending pulls what a subscription holds and nacks it: how many messages it has.
func (b *gbench) pending(sub string) int {
	b.t.Helper()
	out, err := b.subs.Pull(context.Background(), &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 100, ReturnImmediately: true}) //nolint:staticcheck // the emulator answers at once only so
	if err != nil {
		b.t.Fatal(err)
	}
	return len(out.GetReceivedMessages())
}

// TestRunnerGCP_nodeAndPython: Node.js and Python HTTP functions, registered with their Functions
// Frameworks' http(), run behind the runner's stand-ins: a 204 acknowledges, a 500 fails each
// delivery until the message is dead-lettered.
func TestRunnerGCP_nodeAndPython(t *testing.T) {
	for _, bin := range []string{"node", "python3"} {
		if _, err := exec.LookPath(bin); err != nil && os.Getenv("CI") != "true" {
			t.Skipf("%s is not on PATH", bin)
		}
	}
	b := newGBench(t)
	var hs []runner.Handler
	for name, rt := range map[string]string{"gcpnode": "nodejs22", "gcppy": "python3.12"} {
		dir, err := filepath.Abs("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		h := b.handler(name, 2, nil)
		h.SourceDir, h.Runtime, h.EntryPoint = dir, rt, "handle"
		for _, data := range []string{"ok", "poison"} {
			if _, err := b.topics.Publish(context.Background(), &pubsubpb.PublishRequest{Topic: h.Topic, Messages: []*pubsubpb.PubsubMessage{{Data: []byte(data)}}}); err != nil {
				t.Fatal(err)
			}
		}
		hs = append(hs, h)
	}
	var prog, log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stats, err := runner.Run(ctx, hs, runner.Options{PubSubHost: b.proxy.Addr, FirestoreHost: b.fsHost, UntilDrained: true, Progress: &prog, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("log:\n%s", log.String())
	for i, h := range hs {
		if s := stats[i]; s.Succeeded != 1 || s.Failed != maxAttempts || s.DeadLettered != 1 || s.State != "drained" {
			t.Errorf("%s: stats %+v; want 1 succeeded, the poison failed %d times and dead-lettered", h.Runtime, s, maxAttempts)
		}
		if !strings.Contains(log.String(), "stands in for "+h.Runtime) {
			t.Errorf("the log does not say what stands in for %s", h.Runtime)
		}
	}
}
