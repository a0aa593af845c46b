package runner_test

import (
	"bytes"
	"context"
	"fmt"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/dlq"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

const region = "us-east-1"

// bench is a handler's queues and tables in moto, as the AWS driver makes them.
type bench struct {
	// concurrency is Options.Concurrency of run: 1 unless a test says otherwise.
	concurrency int64
	t           *testing.T
	m           *moto.Server
	sqs         *sqs.Client
	ddb         *dynamodb.Client
}

func newBench(t *testing.T) *bench {
	m := moto.Require(t)
	cfg := m.Config(region)
	return &bench{concurrency: 1, t: t, m: m, sqs: sqs.NewFromConfig(cfg), ddb: dynamodb.NewFromConfig(cfg)}
}

var (
	buildOnce sync.Once
	bootstrap string
	buildErr  error
)

// goHandler builds examples/handler-go for this machine, once per test binary.
func goHandler(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("the runner runs handlers on linux only, not %s", runtime.GOOS)
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "runner-handler-go-")
		if err != nil {
			buildErr = err
			return
		}
		bootstrap = dir
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", filepath.Join(dir, "bootstrap"), ".")
		cmd.Dir = "../../examples/handler-go"
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building examples/handler-go: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bootstrap
}

// handler makes name's queue (visibility timeout timeout_s, redrive after maxAttempts receives),
// dead-letter queue and dedup table, and returns the runner's view of it running code from dir.
func (b *bench) handler(name, runtimeName, dir string, timeoutS, maxAttempts int64, env map[string]string) runner.Handler {
	b.t.Helper()
	ctx := context.Background()
	dl := b.queue(name+"--dlq", nil)
	dlARN := runner.QueueARN(dl, region)
	q := b.queue(name+"--queue", map[string]string{
		"VisibilityTimeout": strconv.FormatInt(timeoutS, 10),
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, dlARN, maxAttempts),
	})
	table := name + "--dedup"
	b.table(table)
	h := runner.Handler{
		Name: name, Cloud: "aws", Region: region, Runtime: runtimeName, EntryPoint: spec.ComponentName("", ""),
		SourceDir: dir, TimeoutS: timeoutS, MemoryMB: 256, MaxConcurrency: 2,
		Kind: "queue", BatchSize: 10, MaxAttempts: maxAttempts,
		FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:" + name, QueueURL: q, DeadLetterURL: dl,
		Env: map[string]string{},
	}
	h.EntryPoint = map[string]string{"go": "bootstrap", "python3.12": "main.handler"}[runtimeName]
	// Every handler may write the shop-orders table, granted as orders (THREEFACTOR_TABLE_ORDERS
	// holds its store URL, which the runner rebuilds).
	sh := spec.Handler{Name: name, Cloud: "aws", Dedup: spec.Dedup{TTLS: 3600}, Function: spec.Function{TimeoutS: timeoutS, Environment: env,
		Tables: map[string]spec.TableGrant{"orders": {TableID: "arn:aws:dynamodb:" + region + ":" + moto.Account + ":table/shop-orders", Access: spec.ReadWrite}}}}
	h.Env = awslambda.Env(&sh, region)
	_ = ctx
	return h
}

func (b *bench) queue(name string, attrs map[string]string) string {
	b.t.Helper()
	out, err := b.sqs.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs})
	if err != nil {
		b.t.Fatal(err)
	}
	return *out.QueueUrl
}

func (b *bench) table(name string) {
	b.t.Helper()
	if _, err := b.ddb.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: &name, BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
	}); err != nil {
		b.t.Fatal(err)
	}
}

// order is an order event as a CloudEvent in binary mode; seq is zero-padded, so that string and
// number order agree.
func (b *bench) order(q, id string, seq int, orderID, status string) {
	b.t.Helper()
	s := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	if _, err := b.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: &q, MessageBody: aws.String(fmt.Sprintf(`{"order_id":%q,"status":%q}`, orderID, status)),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"ce-id": s(id), "ce-source": s("/shop/orders"), "ce-sequence": s(fmt.Sprintf("%03d", seq))},
	}); err != nil {
		b.t.Fatal(err)
	}
}

func (b *bench) send(q, body string) {
	b.t.Helper()
	if _, err := b.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &q, MessageBody: &body}); err != nil {
		b.t.Fatal(err)
	}
}

// status is an order's status in the orders table.
func (b *bench) status(orderID string) string {
	b.t.Helper()
	out, err := b.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("shop-orders"),
		Key: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: orderID}}})
	if err != nil {
		b.t.Fatal(err)
	}
	s, _ := out.Item["status"].(*ddbtypes.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

// depth is a queue's message count, visible and in flight.
func (b *bench) depth(q string) int {
	b.t.Helper()
	out, err := b.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &q,
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		b.t.Fatal(err)
	}
	n, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	m, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return n + m
}

// run runs the runner until drained and returns its counts for the first handler and its log.
// One batch at a time: moto loses items when TransactWriteItems calls overlap
// (TestRunnerAWS_maxConcurrency runs batches concurrently, with no table).
func (b *bench) run(hs ...runner.Handler) (runner.Stats, string) {
	b.t.Helper()
	var prog, log bytes.Buffer
	// A run that never drains fails the test with its log, instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := runner.Run(ctx, hs, runner.Options{Endpoint: b.m.URL, UntilDrained: true, Progress: &prog, Log: &log, Concurrency: b.concurrency})
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("progress:\n%s\nlog:\n%s", prog.String(), log.String())
	if stats[0].State != "drained" {
		b.t.Fatalf("the run did not drain within a minute: %+v", stats[0])
	}
	return stats[0], log.String()
}

// TestRunnerAWS_duplicatesAndReordering: a burst with duplicates and events out of order leaves
// each order at its latest status, applies each event at most once, and drops the rest.
func TestRunnerAWS_duplicatesAndReordering(t *testing.T) {
	b := newBench(t)
	b.table("shop-orders")
	h := b.handler("orders", "go", goHandler(t), 2, 3, nil)
	// o-1: 3, 1, 2 (reordered), 3 again; o-2: 1, 2, 2 again; o-3: 1.
	b.order(h.QueueURL, "o1-3", 3, "o-1", "shipped")
	b.order(h.QueueURL, "o1-1", 1, "o-1", "placed")
	b.order(h.QueueURL, "o2-1", 1, "o-2", "placed")
	b.order(h.QueueURL, "o1-2", 2, "o-1", "paid")
	b.order(h.QueueURL, "o2-2", 2, "o-2", "paid")
	b.order(h.QueueURL, "o1-3", 3, "o-1", "shipped")
	b.order(h.QueueURL, "o3-1", 1, "o-3", "placed")
	b.order(h.QueueURL, "o2-2", 2, "o-2", "paid")
	s, _ := b.run(h)
	for id, want := range map[string]string{"o-1": "shipped", "o-2": "paid", "o-3": "placed"} {
		if got := b.status(id); got != want {
			t.Errorf("order %s is %q, want %q", id, got, want)
		}
	}
	// 6 distinct events, each applied or stale once; the 2 copies of the latest events are duplicates.
	if s.Received != 8 || s.Succeeded != 8 || s.Failed != 0 || s.DeadLettered != 0 || s.Applied+s.Stale != 6 || s.Duplicates != 2 || s.Applied < 3 {
		t.Errorf("stats %+v; want 8 received and succeeded, applied + stale = 6, 2 duplicates, at least 3 applied", s)
	}
	if runner.Failed([]runner.Stats{s}) || b.depth(h.QueueURL) != 0 {
		t.Errorf("a run with no failure reports one, or left messages")
	}
}

// TestRunnerAWS_poisonAndReplay: a poison event fails max_attempts times and the queue's redrive
// dead-letters it; replayed once the handler knows it, it is applied; a second copy (an
// interrupted replay whose delete failed) is a duplicate.
func TestRunnerAWS_poisonAndReplay(t *testing.T) {
	b := newBench(t)
	b.table("shop-orders")
	h := b.handler("orders", "go", goHandler(t), 1, 3, map[string]string{"ORDER_STATUSES": "placed"})
	b.order(h.QueueURL, "o1-1", 1, "o-1", "placed")
	b.order(h.QueueURL, "o9-2", 2, "o-9", "refunded")
	s, _ := b.run(h)
	if s.DeadLettered != 1 || s.Failed != 3 || s.Applied != 1 || !runner.Failed([]runner.Stats{s}) {
		t.Fatalf("stats %+v; want the poison failed 3 times (max_attempts) and dead-lettered, the other applied", s)
	}
	q := dlq.Queues{SQS: b.sqs, Source: h.QueueURL, DeadLetter: h.DeadLetterURL, Hold: 1}
	note := func(s string) { t.Log(s) }
	listed, total, err := q.List(context.Background(), 10)
	if err != nil || len(listed) != 1 || total != 1 || listed[0].Body != `{"order_id":"o-9","status":"refunded"}` || listed[0].Attributes["ce-id"] != "o9-2" {
		t.Fatalf("List = %+v, %d, %v; want the poison event", listed, total, err)
	}
	if b.depth(h.DeadLetterURL) != 1 {
		t.Fatal("List hid or removed the message it listed")
	}

	// The first replay's delete fails: the message is in both queues, and the error says so.
	b.m.Fail(moto.Fault{Service: "sqs", Action: "DeleteMessage"})
	if _, _, err := q.Replay(context.Background(), nil, note); err == nil || !bytes.Contains([]byte(err.Error()), []byte("both queues")) {
		t.Fatalf("Replay with a failing delete = %v; want an error saying the message is in both queues", err)
	}
	if b.depth(h.DeadLetterURL) != 1 || b.depth(h.QueueURL) != 1 {
		t.Fatalf("after a failed delete: dead-letter queue %d, queue %d; want 1 and 1", b.depth(h.DeadLetterURL), b.depth(h.QueueURL))
	}
	// The message is hidden for the replay's hold (1 s): replay again until it is visible.
	var moved []string
	for try := 0; len(moved) == 0 && try < 10; try++ {
		moved, _, err = q.Replay(context.Background(), []string{listed[0].ID}, note)
	}
	if err != nil || !slices.Equal(moved, []string{listed[0].ID}) {
		t.Fatalf("Replay = %v, %v; want %s replayed", moved, err, listed[0].ID)
	}
	// Both copies carry every attribute and the original message id (one receive, within the
	// retry budget; they are visible again a second later).
	copies, err := b.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &h.QueueURL, MaxNumberOfMessages: 10, VisibilityTimeout: 1, MessageAttributeNames: []string{"All"}})
	if err != nil || len(copies.Messages) != 2 {
		t.Fatalf("copies in the queue: %+v, %v; want 2", copies, err)
	}
	for _, c := range copies.Messages {
		a := func(k string) string { return aws.ToString(c.MessageAttributes[k].StringValue) }
		if a(dlq.OriginalMessageID) != listed[0].ID || a("ce-id") != "o9-2" || a("ce-sequence") != "002" {
			t.Errorf("replayed copy's attributes %v; want the original's and %s = %s", c.MessageAttributes, dlq.OriginalMessageID, listed[0].ID)
		}
	}
	h.Env["ORDER_STATUSES"] = "placed,refunded"
	s, _ = b.run(h)
	if s.Applied != 1 || s.Duplicates != 1 || s.Failed != 0 || b.status("o-9") != "refunded" || b.depth(h.DeadLetterURL) != 0 {
		t.Errorf("after the replay: stats %+v, o-9 %q, dead-letter queue %d; want 1 applied, 1 duplicate, refunded, empty", s, b.status("o-9"), b.depth(h.DeadLetterURL))
	}
}

// TestRunnerAWS_replaySendFails: when the copy cannot be sent, the message stays in the
// dead-letter queue and the error says so.
func TestRunnerAWS_replaySendFails(t *testing.T) {
	b := newBench(t)
	dl := b.queue("x--dlq", nil)
	src := b.queue("x--queue", nil)
	b.send(dl, "poison")
	b.m.Fail(moto.Fault{Service: "sqs", Action: "SendMessage"})
	q := dlq.Queues{SQS: b.sqs, Source: src, DeadLetter: dl}
	note := func(s string) { t.Log(s) }
	if moved, _, err := q.Replay(context.Background(), nil, note); err == nil || len(moved) != 0 || !bytes.Contains([]byte(err.Error()), []byte("stays in the dead-letter queue")) {
		t.Fatalf("Replay with a failing send = %v, %v; want an error saying the message stays", moved, err)
	}
	if b.depth(dl) != 1 || b.depth(src) != 0 {
		t.Errorf("dead-letter queue %d, queue %d; want the message still dead-lettered only", b.depth(dl), b.depth(src))
	}
}

// TestRunnerAWS_batchFailures: a function error, a timeout, a crash and an itemIdentifier that is
// not in the batch fail the whole batch (the good message with it is dead-lettered too, with
// max_attempts 1); batchItemFailures fail only the messages they name. The handler is Python,
// run by the runner's stand-in of the Python runtime.
func TestRunnerAWS_batchFailures(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("python3 is not on PATH")
	}
	b := newBench(t)
	dir, err := filepath.Abs("testdata/pyhandler")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]int{"raise": 2, "sleep": 2, "exit": 2, "bogus": 2, "fail-item": 1}
	var hs []runner.Handler
	for body := range cases {
		h := b.handler("h-"+body, "python3.12", dir, 1, 1, nil)
		h.MaxConcurrency = 1 // both messages in one batch
		b.send(h.QueueURL, "ok")
		b.send(h.QueueURL, body)
		hs = append(hs, h)
	}
	var prog, log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := runner.Run(ctx, hs, runner.Options{Endpoint: b.m.URL, UntilDrained: true, Progress: &prog, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("log:\n%s", log.String())
	for i, h := range hs {
		body := h.Name[2:]
		if got := b.depth(h.DeadLetterURL); got != cases[body] || stats[i].DeadLettered != int64(cases[body]) || stats[i].State != "drained" {
			t.Errorf("%s: %d dead-lettered (stats %+v), want %d", body, got, stats[i], cases[body])
		}
	}
	if !bytes.Contains(log.Bytes(), []byte("python3 Python")) || !bytes.Contains(log.Bytes(), []byte("stands in for python3.12")) {
		t.Errorf("the log does not say which Python stands in for python3.12")
	}
}

// TestRunnerAWS_topic: a topic handler's queue, subscribed with raw delivery, is delivered like a
// queue handler's, CloudEvents attributes included.
func TestRunnerAWS_topic(t *testing.T) {
	b := newBench(t)
	b.table("shop-orders")
	h := b.handler("fanout", "go", goHandler(t), 3, 3, nil)
	h.Kind = "topic"
	ctx := context.Background()
	topics := sns.NewFromConfig(b.m.Config(region))
	topic, err := topics.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("fanout--topic")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topics.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(runner.QueueARN(h.QueueURL, region)), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	s := func(v string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	for _, id := range []string{"e1", "e1"} {
		if _, err := topics.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(`{"order_id":"o-7","status":"placed"}`),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"ce-id": s(id), "ce-source": s("/shop/orders"), "ce-sequence": s("001")}}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := b.run(h)
	if st.Applied != 1 || st.Duplicates != 1 || b.status("o-7") != "placed" {
		t.Errorf("stats %+v, o-7 %q; want the event applied once and its second publication a duplicate", st, b.status("o-7"))
	}
}

// TestRunnerAWS_node: a Node.js handler runs behind the runner's stand-in of the Node.js runtime,
// and its batchItemFailures fail only the messages they name.
func TestRunnerAWS_node(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("node is not on PATH")
	}
	b := newBench(t)
	dir, err := filepath.Abs("testdata/nodehandler")
	if err != nil {
		t.Fatal(err)
	}
	h := b.handler("h-node", "nodejs22", dir, 2, 1, nil)
	h.EntryPoint = "index.handler"
	b.send(h.QueueURL, "ok")
	b.send(h.QueueURL, "fail-item")
	st, log := b.run(h)
	if st.Succeeded != 1 || st.Failed != 1 || b.depth(h.DeadLetterURL) != 1 || !strings.Contains(log, "stands in for nodejs22") {
		t.Errorf("stats %+v, dead-letter queue %d; want 1 succeeded, 1 failed and dead-lettered, and the log saying which node stands in", st, b.depth(h.DeadLetterURL))
	}
}

// TestRunnerAWS_maxConcurrency: with max_concurrency 2 and one message per batch, exactly two
// sandboxes (processes) share the work.
func TestRunnerAWS_maxConcurrency(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("python3 is not on PATH")
	}
	b := newBench(t)
	dir, err := filepath.Abs("testdata/pyhandler")
	if err != nil {
		t.Fatal(err)
	}
	b.concurrency = 0 // the handler's own
	h := b.handler("h-conc", "python3.12", dir, 5, 3, nil)
	h.BatchSize, h.MaxConcurrency = 1, 2
	for range 12 {
		b.send(h.QueueURL, "pid")
	}
	pids := func(log string) map[string]bool {
		seen := map[string]bool{}
		for _, l := range strings.Split(log, "\n") {
			if _, pid, ok := strings.Cut(l, "] pid "); ok {
				seen[pid] = true
			}
		}
		return seen
	}
	st, log := b.run(h)
	if p := pids(log); len(p) != 2 || st.Succeeded != 12 {
		t.Errorf("%d processes ran (%v), %d messages succeeded; want 2 and 12", len(p), p, st.Succeeded)
	}
	// --concurrency 1 caps it: one process.
	b.concurrency = 1
	for range 4 {
		b.send(h.QueueURL, "pid")
	}
	st, log = b.run(h)
	if p := pids(log); len(p) != 1 || st.Succeeded != 4 {
		t.Errorf("with concurrency 1: %d processes ran (%v), %d messages succeeded; want 1 and 4", len(p), p, st.Succeeded)
	}
}

// TestRunnerAWS_purge: purge empties the dead-letter queue, and a failed purge is an error.
func TestRunnerAWS_purge(t *testing.T) {
	b := newBench(t)
	dl, src := b.queue("x--dlq", nil), b.queue("x--queue", nil)
	b.send(dl, "poison")
	q := dlq.Queues{SQS: b.sqs, Source: src, DeadLetter: dl}
	b.m.Fail(moto.Fault{Service: "sqs", Action: "PurgeQueue", Times: 10})
	if err := q.Purge(context.Background()); err == nil || b.depth(dl) != 1 {
		t.Fatalf("Purge with a failing call = %v, dead-letter queue %d; want an error and the message kept", err, b.depth(dl))
	}
	if err := b.m.Reset(); err != nil { // empties moto and clears the faults left
		t.Fatal(err)
	}
	dl = b.queue("x--dlq", nil)
	b.send(dl, "poison")
	if err := (dlq.Queues{SQS: b.sqs, Source: src, DeadLetter: dl}).Purge(context.Background()); err != nil || b.depth(dl) != 0 {
		t.Errorf("Purge = %v, dead-letter queue %d; want it empty", err, b.depth(dl))
	}
}
