package azuretest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"

	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore/cosmostest"
	"github.com/threefactor/terraform-provider-threefactor/internal/dlq"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner/sbrest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// azBench is a handler's queue and dead-letter queue in the Azure fake's namespace, as the Azure
// driver makes them, and its dedup container in the Cosmos DB emulator.
type azBench struct {
	t      *testing.T
	fake   *azurefake.Server
	emu    *cosmostest.Emulator
	db     string
	queues *armservicebus.QueuesClient
	sb     *sbrest.Client
}

const azNamespace = "shop-bus"

func newAzBench(t *testing.T) *azBench {
	emu := cosmostest.Shared(t) // first: it sets SSL_CERT_FILE, which Go reads once
	fake := azurefake.Require(t, azurefake.Options{RetryAfter: 5 * time.Millisecond})
	ctx := context.Background()
	opts := fake.ClientOptions()
	opts.DisableRPRegistration = true
	nsc, err := armservicebus.NewNamespacesClient(fake.Subscription(), fake.StaticCredential(), opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nsc.BeginCreateOrUpdate(ctx, fake.ResourceGroup(), azNamespace, armservicebus.SBNamespace{Location: to.Ptr(azurefake.DefaultLocation), SKU: &armservicebus.SBSKU{Name: to.Ptr(armservicebus.SKUNameStandard)}}, nil)
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
	return &azBench{t: t, fake: fake, emu: emu, db: emu.Database(t), queues: queues,
		sb: &sbrest.Client{Host: azNamespace + "." + azurefake.ServiceBusSuffix, HTTP: fake.HTTPClient(), Cred: fake.StaticCredential()}}
}

var (
	azBuildOnce sync.Once
	azCode      string
	azBuildErr  error
)

// azureHandler builds examples/handler-go-azure for this machine as a Functions app's code
// (handler, host.json, orders/function.json), once per test binary.
func azureHandler(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("the runner runs handlers on linux only, not %s", runtime.GOOS)
	}
	azBuildOnce.Do(func() {
		src := "../../../examples/handler-go-azure"
		if azCode, azBuildErr = os.MkdirTemp("", "runner-handler-go-azure-"); azBuildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(azCode, "handler"), ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			azBuildErr = fmt.Errorf("building examples/handler-go-azure: %v\n%s", err, out)
			return
		}
		for _, f := range []string{"host.json", "orders/function.json"} {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err == nil {
				err = os.MkdirAll(filepath.Dir(filepath.Join(azCode, f)), 0o755)
			}
			if err == nil {
				err = os.WriteFile(filepath.Join(azCode, f), b, 0o644)
			}
			if err != nil {
				azBuildErr = err
				return
			}
		}
	})
	if azBuildErr != nil {
		t.Fatal(azBuildErr)
	}
	return azCode
}

// queue makes a queue and returns its ARM id.
func (b *azBench) queue(name string, props armservicebus.SBQueueProperties) string {
	b.t.Helper()
	q, err := b.queues.CreateOrUpdate(context.Background(), b.fake.ResourceGroup(), azNamespace, name, armservicebus.SBQueue{Properties: &props}, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return *q.ID
}

// handler makes name's queue (MaxDeliveryCount maxAttempts, dead letters forwarded to
// <name>--dlq) and dead-letter queue, and returns the runner's view of it running the Azure
// example.
func (b *azBench) handler(name string, timeoutS, maxAttempts int64) runner.Handler {
	b.t.Helper()
	dl := b.queue(name+"--dlq", armservicebus.SBQueueProperties{DefaultMessageTimeToLive: to.Ptr("P14D")})
	q := b.queue(name+"--queue", armservicebus.SBQueueProperties{LockDuration: to.Ptr("PT30S"), MaxDeliveryCount: to.Ptr(int32(maxAttempts)),
		ForwardDeadLetteredMessagesTo: to.Ptr(name + "--dlq")})
	return b.runnerHandler(name, q, dl, timeoutS, maxAttempts)
}

// runnerHandler is the runner's view of handler name consuming the queue or subscription source,
// dead-lettering into dl, running the Azure example.
func (b *azBench) runnerHandler(name, source, dl string, timeoutS, maxAttempts int64) runner.Handler {
	b.t.Helper()
	h := runner.Handler{Name: name, Cloud: "azure", Runtime: "go", EntryPoint: "handler", SourceDir: azureHandler(b.t),
		TimeoutS: timeoutS, MemoryMB: 2048, MaxConcurrency: 2, Kind: "queue", Enabled: true, BatchSize: 1, MaxAttempts: maxAttempts}
	var err error
	if h.QueueURL, err = runner.EntityURL(source); err == nil {
		h.DeadLetterURL, err = runner.EntityURL(dl)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	dedup := "/subscriptions/" + b.fake.Subscription() + "/resourceGroups/" + b.fake.ResourceGroup() +
		"/providers/Microsoft.DocumentDB/databaseAccounts/shop-cosmos/sqlDatabases/" + b.db + "/containers/" + cosmostest.Container
	h.Env = azurefunctions.Env(&spec.Handler{Name: name, Cloud: "azure", Dedup: spec.Dedup{TTLS: 3600}, Function: spec.Function{TimeoutS: timeoutS}}, dedup)
	return h
}

// order sends an order event as a CloudEvent in binary mode (ce- application properties); seq is
// zero-padded, so that string and number order agree.
func (b *azBench) order(entity, id string, seq int, orderID, status string) {
	b.t.Helper()
	b.send(entity, sbrest.Message{Body: []byte(fmt.Sprintf(`{"order_id":%q,"status":%q}`, orderID, status)), ContentType: "application/json",
		Properties: map[string]string{"ce-specversion": `"1.0"`, "ce-id": strconv.Quote(id), "ce-source": `"/shop/orders"`, "ce-sequence": strconv.Quote(fmt.Sprintf("%03d", seq))}})
}

func (b *azBench) send(entity string, m sbrest.Message) {
	b.t.Helper()
	if err := b.sb.Send(context.Background(), entity, m); err != nil {
		b.t.Fatal(err)
	}
}

// status is an order's status in the dedup container, where the example keeps its orders.
func (b *azBench) status(orderID string) string {
	b.t.Helper()
	c, err := b.emu.Client(b.t).NewContainer(b.db, cosmostest.Container)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := c.ReadItem(context.Background(), azcosmos.NewPartitionKeyString(cosmosstore.EntityPK("orders", orderID)), cosmosstore.EntityID(orderID), nil)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == 404 {
		return ""
	}
	if err != nil {
		b.t.Fatal(err)
	}
	var item struct{ Status string }
	if err := json.Unmarshal(resp.Value, &item); err != nil {
		b.t.Fatal(err)
	}
	return item.Status
}

// depth is an entity's message count: active and in its dead-letter sub-queue.
func (b *azBench) depth(entity string) int64 {
	b.t.Helper()
	a, d, err := b.sb.Counts(context.Background(), entity)
	if err != nil {
		b.t.Fatal(err)
	}
	return a + d
}

func entityOf(t *testing.T, u string) string {
	t.Helper()
	_, e, err := runner.SplitEntityURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs the runner until drained, one message at a time (the Cosmos emulator's batches are not
// atomic), with the Cosmos emulator at cosmos, and returns the first handler's counts and the log.
func (b *azBench) run(cosmos string, hs ...runner.Handler) (runner.Stats, string) {
	b.t.Helper()
	var prog, log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := runner.Run(ctx, hs, runner.Options{UntilDrained: true, Progress: &prog, Log: &log, Concurrency: 1,
		AzureHTTP: b.fake.HTTPClient(), AzureCredential: b.fake.StaticCredential(), CosmosEndpoint: cosmos})
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("progress:\n%s\nlog:\n%s", prog.String(), log.String())
	if stats[0].State != "drained" {
		b.t.Fatalf("the run did not drain within a minute: %+v", stats[0])
	}
	return stats[0], log.String()
}

// TestRunnerAzure_duplicatesAndReordering: a burst with duplicates and events out of order, sent
// to the queue as separate Service Bus messages, leaves each order at its latest status in Cosmos
// DB, applies each event at most once, and drops the rest.
func TestRunnerAzure_duplicatesAndReordering(t *testing.T) {
	b := newAzBench(t)
	h := b.handler("orders", 5, 3)
	q := entityOf(t, h.QueueURL)
	b.order(q, "o1-3", 3, "o-1", "shipped")
	b.order(q, "o1-1", 1, "o-1", "placed")
	b.order(q, "o2-1", 1, "o-2", "placed")
	b.order(q, "o1-2", 2, "o-1", "paid")
	b.order(q, "o2-2", 2, "o-2", "paid")
	b.order(q, "o1-3", 3, "o-1", "shipped")
	b.order(q, "o3-1", 1, "o-3", "placed")
	b.order(q, "o2-2", 2, "o-2", "paid")
	s, log := b.run(b.emu.Host, h)
	for id, want := range map[string]string{"o-1": "shipped", "o-2": "paid", "o-3": "placed"} {
		if got := b.status(id); got != want {
			t.Errorf("order %s is %q, want %q", id, got, want)
		}
	}
	if s.Received != 8 || s.Succeeded != 8 || s.Failed != 0 || s.DeadLettered != 0 || s.Applied+s.Stale != 6 || s.Duplicates != 2 || s.Applied < 3 {
		t.Errorf("stats %+v; want 8 received and succeeded, applied + stale = 6, 2 duplicates, at least 3 applied", s)
	}
	if runner.Failed([]runner.Stats{s}) || b.depth(q) != 0 || !strings.Contains(log, "custom handler of function orders") {
		t.Errorf("a run with no failure reports one, left messages, or did not say how it runs the handler")
	}
}

// closedPort is a loopback address nothing listens on: a Cosmos DB that is down.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestRunnerAzure_poisonAndReplay: with its store down, a message fails max_attempts deliveries
// (abandoned each time, so Service Bus counts them) and is dead-lettered into <name>--dlq; listing
// leaves it there; a replay whose complete fails leaves it in both queues and says so; replayed
// again, both copies carry the original MessageId and every property, and once the store is back
// the first is applied and the second is a duplicate. (A message without a CloudEvents identity is
// one event through the original id property: handler/servicebus's TestFromMessageReplayedCopy.)
func TestRunnerAzure_poisonAndReplay(t *testing.T) {
	b := newAzBench(t)
	h := b.handler("refunds", 2, 4)
	q, dl := entityOf(t, h.QueueURL), entityOf(t, h.DeadLetterURL)
	b.send(q, sbrest.Message{ID: "m-9", Body: []byte(`{"order_id":"o-9","status":"refunded"}`), Properties: map[string]string{
		"tenant": `"eu"`, "ce-specversion": `"1.0"`, "ce-id": `"o9-2"`, "ce-source": `"/shop/orders"`, "ce-sequence": `"002"`}})
	s, _ := b.run(closedPort(t), h)
	if s.DeadLettered != 1 || s.Failed != 4 || s.Succeeded != 0 || !runner.Failed([]runner.Stats{s}) {
		t.Fatalf("stats %+v; want 4 failed deliveries (max_attempts) and the message dead-lettered", s)
	}
	ctx := context.Background()
	d := dlq.ServiceBus{Client: b.sb, Source: q, DeadLetter: dl}
	listed, total, err := d.List(ctx, 10)
	if err != nil || len(listed) != 1 || total != 1 || listed[0].ID != "m-9" || listed[0].Attributes["Tenant"] != "eu" || listed[0].Body != `{"order_id":"o-9","status":"refunded"}` {
		t.Fatalf("List = %+v, %d, %v; want the dead-lettered m-9", listed, total, err)
	}
	if b.depth(dl) != 1 {
		t.Fatal("List removed the message it listed")
	}

	b.fake.AddFault(azurefake.Fault{Op: "servicebus/complete"})
	if _, err := d.Replay(ctx, nil); err == nil || !strings.Contains(err.Error(), "both queues") {
		t.Fatalf("Replay with a failing complete = %v; want an error saying the message is in both queues", err)
	}
	if b.depth(dl) != 1 || b.depth(q) != 1 {
		t.Fatalf("after a failed complete: dead-letter queue %d, queue %d; want 1 and 1", b.depth(dl), b.depth(q))
	}
	// The dead letter stays locked until its lock expires (the dead-letter queue's default, a
	// minute): replaying it by id waits for it.
	moved, err := d.Replay(ctx, []string{"m-9"})
	if err != nil || !slices.Equal(moved, []string{"m-9"}) || b.depth(dl) != 0 {
		t.Fatalf("Replay = %v, %v, dead-letter queue %d; want m-9 replayed and the queue empty", moved, err, b.depth(dl))
	}
	// Both copies keep the properties and carry the original MessageId.
	var copies []*sbrest.Message
	for range 2 {
		m, err := b.sb.PeekLock(ctx, q, 0)
		if err != nil || m == nil {
			t.Fatalf("a replayed copy: %v, %v", m, err)
		}
		copies = append(copies, m)
	}
	for _, m := range copies {
		orig, _ := m.Text(dlq.OriginalMessageID)
		tenant, _ := m.Text("tenant")
		ceID, _ := m.Text("ce-id")
		if orig != "m-9" || tenant != "eu" || ceID != "o9-2" || m.ID == "m-9" {
			t.Errorf("replayed copy %s: %s = %q, tenant %q; want m-9 and eu under a MessageId of its own", m.ID, dlq.OriginalMessageID, orig, tenant)
		}
		if err := b.sb.Abandon(ctx, q, m); err != nil {
			t.Fatal(err)
		}
	}
	s, _ = b.run(b.emu.Host, h)
	if s.Applied != 1 || s.Duplicates != 1 || s.Failed != 0 || b.status("o-9") != "refunded" || b.depth(q) != 0 {
		t.Errorf("after the replay: stats %+v, o-9 %q; want 1 applied, 1 duplicate, refunded", s, b.status("o-9"))
	}
}

// TestRunnerAzure_replaySendFails: when the copy cannot be sent, or its answer is lost, the
// dead letter is not completed: it stays in the dead-letter queue, unlocked again, and the error
// says so; a lost answer of the complete leaves the message replayed, never lost.
func TestRunnerAzure_replaySendFails(t *testing.T) {
	b := newAzBench(t)
	ctx := context.Background()
	b.queue("x--dlq", armservicebus.SBQueueProperties{})
	b.queue("x--queue", armservicebus.SBQueueProperties{})
	b.send("x--dlq", sbrest.Message{ID: "poison", Body: []byte("poison")})
	d := dlq.ServiceBus{Client: b.sb, Source: "x--queue", DeadLetter: "x--dlq"}
	b.fake.AddFault(azurefake.Fault{Op: "servicebus/send"})
	if moved, err := d.Replay(ctx, nil); err == nil || len(moved) != 0 || !strings.Contains(err.Error(), "stays in the dead-letter queue") {
		t.Fatalf("Replay with a failing send = %v, %v; want an error saying the message stays", moved, err)
	}
	if b.depth("x--dlq") != 1 || b.depth("x--queue") != 0 {
		t.Fatalf("dead-letter queue %d, queue %d; want the message still dead-lettered only", b.depth("x--dlq"), b.depth("x--queue"))
	}
	// A lost answer: the copy was sent, the dead letter stays: in both queues, never in neither.
	b.fake.AddFault(azurefake.Fault{Op: "servicebus/send", LoseResponse: true})
	if _, err := d.Replay(ctx, nil); err == nil {
		t.Fatal("Replay with a lost send answer succeeded")
	}
	if b.depth("x--dlq") != 1 || b.depth("x--queue") != 1 {
		t.Errorf("after a lost answer: dead-letter queue %d, queue %d; want 1 and 1", b.depth("x--dlq"), b.depth("x--queue"))
	}
	// A complete whose answer is lost took effect: the message is replayed, the error says it may
	// be in both queues, and it is in one.
	b.fake.AddFault(azurefake.Fault{Op: "servicebus/complete", LoseResponse: true})
	if _, err := d.Replay(ctx, []string{"poison"}); err == nil || !strings.Contains(err.Error(), "answer was lost") {
		t.Errorf("Replay with a lost complete answer = %v; want an error saying the message may be in both queues", err)
	}
	if b.depth("x--dlq") != 0 || b.depth("x--queue") != 2 {
		t.Errorf("after a lost complete answer: dead-letter queue %d, queue %d; want 0 and 2", b.depth("x--dlq"), b.depth("x--queue"))
	}
}

// TestRunnerAzure_purgeAndSubQueue: a dead letter that listing received MaxDeliveryCount times
// moves to the dead-letter queue's own $DeadLetterQueue; List, Replay and Purge still find it;
// a failed purge keeps what it did not delete.
func TestRunnerAzure_purgeAndSubQueue(t *testing.T) {
	b := newAzBench(t)
	ctx := context.Background()
	b.queue("x--dlq", armservicebus.SBQueueProperties{MaxDeliveryCount: to.Ptr[int32](1)})
	b.queue("x--queue", armservicebus.SBQueueProperties{})
	for _, id := range []string{"a", "b"} {
		b.send("x--dlq", sbrest.Message{ID: id, Body: []byte(id)})
	}
	d := dlq.ServiceBus{Client: b.sb, Source: "x--queue", DeadLetter: "x--dlq"}
	if listed, total, err := d.List(ctx, 10); err != nil || len(listed) != 2 || total != 2 {
		t.Fatalf("List = %+v, %d, %v; want a and b", listed, total, err)
	}
	listed, total, err := d.List(ctx, 10)
	if err != nil || len(listed) != 2 || total != 2 || listed[0].Queue != "x--dlq/$DeadLetterQueue" {
		t.Fatalf("second List = %+v, %d, %v; want a and b from x--dlq/$DeadLetterQueue", listed, total, err)
	}
	if moved, err := d.Replay(ctx, []string{"b"}); err != nil || !slices.Equal(moved, []string{"b"}) || b.depth("x--queue") != 1 {
		t.Fatalf("Replay(b) = %v, %v; want b replayed from the sub-queue", moved, err)
	}
	b.fake.AddFault(azurefake.Fault{Op: "servicebus/receiveAndDelete"})
	if n, err := d.Purge(ctx); err == nil || n != 0 || b.depth("x--dlq") != 1 {
		t.Fatalf("Purge with a failing receive = %d, %v, %d left; want an error and a kept", n, err, b.depth("x--dlq"))
	}
	if n, err := d.Purge(ctx); err != nil || n != 1 || b.depth("x--dlq") != 0 {
		t.Errorf("Purge = %d, %v, %d left; want a purged", n, err, b.depth("x--dlq"))
	}
}

// TestRunnerAzure_notRun: a paused handler (its queue ReceiveDisabled) and runtimes whose
// programming model needs a Functions language worker the runner does not play are not run, each
// saying why.
func TestRunnerAzure_notRun(t *testing.T) {
	paused := runner.Handler{Name: "paused", Cloud: "azure", Runtime: "go", Enabled: false}
	python := runner.Handler{Name: "python", Cloud: "azure", Runtime: "python3.12", Enabled: true}
	var prog, log bytes.Buffer
	stats, err := runner.Run(context.Background(), []runner.Handler{paused, python}, runner.Options{UntilDrained: true, Progress: &prog, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"ReceiveDisabled", "language worker"} {
		if stats[i].State != "not run" || !strings.Contains(stats[i].Note, want) {
			t.Errorf("%s: %+v; want not run, saying %q", stats[i].Handler, stats[i], want)
		}
	}
	if !runner.Failed(stats) {
		t.Error("a run where no handler ran is not reported as failed")
	}
}

// TestRunnerAzure_topic: a topic handler's subscription is delivered like a queue, its CloudEvents
// properties included: an event published twice to the topic is applied once.
func TestRunnerAzure_topic(t *testing.T) {
	b := newAzBench(t)
	ctx := context.Background()
	dl := b.queue("fanout--dlq", armservicebus.SBQueueProperties{})
	opts := b.fake.ClientOptions()
	opts.DisableRPRegistration = true
	topics, err := armservicebus.NewTopicsClient(b.fake.Subscription(), b.fake.StaticCredential(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topics.CreateOrUpdate(ctx, b.fake.ResourceGroup(), azNamespace, "fanout--topic", armservicebus.SBTopic{Properties: &armservicebus.SBTopicProperties{}}, nil); err != nil {
		t.Fatal(err)
	}
	subs, err := armservicebus.NewSubscriptionsClient(b.fake.Subscription(), b.fake.StaticCredential(), opts)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := subs.CreateOrUpdate(ctx, b.fake.ResourceGroup(), azNamespace, "fanout--topic", "fanout", armservicebus.SBSubscription{Properties: &armservicebus.SBSubscriptionProperties{
		MaxDeliveryCount: to.Ptr[int32](3), ForwardDeadLetteredMessagesTo: to.Ptr("fanout--dlq")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := b.runnerHandler("fanout", *sub.ID, dl, 5, 3)
	h.Kind = "topic"
	for range 2 {
		b.order("fanout--topic", "e7", 1, "o-7", "placed")
	}
	s, _ := b.run(b.emu.Host, h)
	if s.Received != 2 || s.Applied != 1 || s.Duplicates != 1 || b.status("o-7") != "placed" || b.depth("fanout--topic/subscriptions/fanout") != 0 {
		t.Errorf("stats %+v, o-7 %q; want the event applied once and its second publication a duplicate", s, b.status("o-7"))
	}
}

var (
	nodeAppOnce sync.Once
	nodeApp     string
	nodeAppErr  error
)

// azureNodeApp is examples/handler-node-azure with its dependencies installed (npm ci), once per
// test binary.
func azureNodeApp(t *testing.T) string {
	t.Helper()
	nodeAppOnce.Do(func() {
		src := "../../../examples/handler-node-azure"
		if nodeApp, nodeAppErr = os.MkdirTemp("", "runner-handler-node-azure-"); nodeAppErr != nil {
			return
		}
		if nodeAppErr = os.CopyFS(nodeApp, os.DirFS(src)); nodeAppErr != nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = nodeApp
		if out, err := cmd.CombinedOutput(); err != nil {
			nodeAppErr = fmt.Errorf("npm ci in a copy of examples/handler-node-azure: %v\n%s", err, out)
		}
	})
	if nodeAppErr != nil {
		t.Fatal(nodeAppErr)
	}
	return nodeApp
}

// TestRunnerAzure_node: a Node.js app (v4 programming model, @azure/functions) runs behind the
// runner's stand-in of the Functions host's Node.js worker: a message its handler takes is
// completed, one it throws on is abandoned and, at max_attempts 1, dead-lettered.
func TestRunnerAzure_node(t *testing.T) {
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil && os.Getenv("CI") != "true" {
			t.Skipf("%s is not on PATH", bin)
		}
	}
	b := newAzBench(t)
	dl := b.queue("shop--dlq", armservicebus.SBQueueProperties{})
	q := b.queue("shop--queue", armservicebus.SBQueueProperties{MaxDeliveryCount: to.Ptr[int32](1), ForwardDeadLetteredMessagesTo: to.Ptr("shop--dlq")})
	h := b.runnerHandler("shop", q, dl, 5, 1)
	h.Runtime, h.EntryPoint, h.SourceDir = "nodejs22", "handler", azureNodeApp(t)
	b.send("shop--queue", sbrest.Message{ID: "m-1", Body: []byte(`{"order_id":"o-1","status":"shipped"}`), ContentType: "application/json"})
	b.send("shop--queue", sbrest.Message{ID: "m-2", Body: []byte(`{"order_id":"o-1"}`)})
	s, log := b.run(b.emu.Host, h)
	if s.Succeeded != 1 || s.Failed != 1 || s.DeadLettered != 1 || b.depth("shop--dlq") != 1 {
		t.Errorf("stats %+v; want m-1 completed, m-2 failed and dead-lettered", s)
	}
	for _, want := range []string{"stands in for nodejs22", "function orders (serviceBusTrigger) loaded", "order o-1 is shipped (event azure:servicebus m-1, delivery 1)", "without order_id or status"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
}
