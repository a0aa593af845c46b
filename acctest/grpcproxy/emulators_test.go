package grpcproxy

import (
	"context"
	"os"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
)

func TestMain(m *testing.M) {
	code := m.Run()
	gcloud.StopShared()
	os.Exit(code)
}

const (
	createTopic = "/google.pubsub.v1.Publisher/CreateTopic"
	getTopic    = "/google.pubsub.v1.Publisher/GetTopic"
)

// TestPubSub: the official Pub/Sub client through the proxy to the emulator, IAM routed to a fake;
// a failed CreateTopic did not take effect, a lost one did, and every call is counted exactly.
func TestPubSub(t *testing.T) {
	e := gcloud.PubSub(t)
	project := e.Project(t)
	p := ForTest(t, e.Host, Route{Prefix: "/google.iam.v1.IAMPolicy/", Target: startIAMFake(t)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pubsub.NewClient(ctx, project, gcloud.ClientOptions(p.Addr)...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	direct, err := pubsub.NewClient(ctx, project, e.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = direct.Close() }()
	exists := func(name string) bool {
		t.Helper()
		_, err := direct.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: name})
		if err != nil && status.Code(err) != codes.NotFound {
			t.Fatal(err)
		}
		return err == nil
	}
	topic := func(id string) string { return "projects/" + project + "/topics/" + id }
	noRetry := gax.WithRetry(nil)

	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic("orders")}); err != nil {
		t.Fatal(err)
	}
	// A failed call did not take effect.
	p.Fail(Fault{Method: createTopic, Match: "orders-dlq", Code: codes.FailedPrecondition})
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic("orders-dlq")}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("failed CreateTopic: %v, want FailedPrecondition", err)
	}
	if exists(topic("orders-dlq")) {
		t.Error("a CreateTopic the proxy failed created the topic")
	}
	// A lost response: the client sees UNAVAILABLE, the topic exists.
	p.Fail(Fault{Method: createTopic, LoseResponse: true})
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic("orders-dlq")}, noRetry); status.Code(err) != codes.Unavailable {
		t.Errorf("CreateTopic whose response was lost: %v, want Unavailable", err)
	}
	if !exists(topic("orders-dlq")) {
		t.Error("a CreateTopic whose response was lost did not create the topic")
	}
	// With the client's default retries, the retry of a lost CreateTopic meets AlreadyExists.
	p.Fail(Fault{Method: createTopic, LoseResponse: true})
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic("orders-retried")}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("retried CreateTopic after a lost response: %v, want AlreadyExists", err)
	}
	// IAM goes to the fake, everything else to the emulator (which has no IAM).
	pol, err := c.TopicAdminClient.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: topic("orders")})
	if err != nil || string(pol.GetEtag()) != "fake:"+topic("orders") {
		t.Errorf("GetIamPolicy through the route: %v, %v", pol, err)
	}
	// Publish and a unary Pull, then a streaming pull (bidirectional).
	sub := "projects/" + project + "/subscriptions/orders-pull"
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub, Topic: topic("orders")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TopicAdminClient.Publish(ctx, &pubsubpb.PublishRequest{Topic: topic("orders"), Messages: []*pubsubpb.PubsubMessage{{Data: []byte("one")}}}); err != nil {
		t.Fatal(err)
	}
	pulled, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 1})
	if err != nil || len(pulled.GetReceivedMessages()) != 1 {
		t.Fatalf("Pull: %v, %v", pulled, err)
	}
	want := map[string]int{
		createTopic: 5, getTopic: 0, "/google.iam.v1.IAMPolicy/GetIamPolicy": 1, "/google.pubsub.v1.Subscriber/CreateSubscription": 1,
		"/google.pubsub.v1.Publisher/Publish": 1, "/google.pubsub.v1.Subscriber/Pull": 1,
	}
	got := p.Calls()
	for m, n := range want {
		if got[m] != n {
			t.Errorf("Calls[%s] = %d, want %d (all: %v)", m, got[m], n, got)
		}
	}
	if len(got) != len(want)-1 {
		t.Errorf("Calls = %v, want only %v", got, want)
	}

	p.ResetCalls()
	pub := c.Publisher(topic("orders"))
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte("two")}).Get(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	var data string
	if err := c.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		data = string(m.Data)
		rcancel()
	}); err != nil {
		t.Fatal(err)
	}
	if data != "two" || p.Calls()["/google.pubsub.v1.Subscriber/StreamingPull"] == 0 {
		t.Errorf("Receive through the proxy got %q; calls %v", data, p.Calls())
	}
}

const commit = "/google.firestore.v1.Firestore/Commit"

// TestFirestore: the official Firestore client through the proxy to the emulator's named database:
// unary, server-streaming (BatchGetDocuments) and bidirectional (Listen) calls, a transaction, a
// failed and a lost Commit.
func TestFirestore(t *testing.T) {
	e := gcloud.Firestore(t)
	const db = "dedup-xyz"
	project := e.Project(t, db)
	p := ForTest(t, e.Host)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := firestore.NewClientWithDatabase(ctx, project, db, gcloud.ClientOptions(p.Addr)...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	direct, err := firestore.NewClientWithDatabase(ctx, project, db, e.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = direct.Close() }()
	doc := func(id string) *firestore.DocumentRef { return c.Collection("claims").Doc(id) }
	exists := func(id string) bool {
		t.Helper()
		_, err := direct.Collection("claims").Doc(id).Get(ctx)
		if err != nil && status.Code(err) != codes.NotFound {
			t.Fatal(err)
		}
		return err == nil
	}

	if _, err := doc("msg-1").Create(ctx, map[string]any{"state": "claimed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := doc("msg-1").Create(ctx, map[string]any{"state": "claimed"}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("second Create: %v, want AlreadyExists", err)
	}
	p.Fail(Fault{Method: commit, Match: "msg-2", Code: codes.FailedPrecondition})
	if _, err := doc("msg-2").Create(ctx, map[string]any{"state": "claimed"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("failed Create: %v, want FailedPrecondition", err)
	}
	if exists("msg-2") {
		t.Error("a Commit the proxy failed created the document")
	}
	// The client retries a Commit that answered UNAVAILABLE: a create whose response was lost then
	// meets its own document. A dedup store must read that as "claimed by someone" and check.
	p.Fail(Fault{Method: commit, Match: "msg-3", LoseResponse: true})
	if _, err := doc("msg-3").Create(ctx, map[string]any{"state": "claimed"}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("Create whose Commit response was lost: %v, want AlreadyExists from the retry", err)
	}
	if !exists("msg-3") {
		t.Error("a Commit whose response was lost did not create the document")
	}
	err = c.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		s, err := tx.Get(doc("msg-1"))
		if err != nil {
			return err
		}
		return tx.Update(s.Ref, []firestore.Update{{Path: "state", Value: "done"}})
	})
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	it := doc("msg-1").Snapshots(ctx)
	snap, err := it.Next()
	it.Stop()
	if err != nil || snap.Data()["state"] != "done" {
		t.Fatalf("Snapshots (Listen): %v, %v", snap, err)
	}
	got := p.Calls()
	want := map[string]int{
		commit: 6, // 2 creates, 1 failed, 1 lost + its retry, the transaction's
		"/google.firestore.v1.Firestore/BeginTransaction":  1,
		"/google.firestore.v1.Firestore/BatchGetDocuments": 1,
		"/google.firestore.v1.Firestore/Listen":            1,
	}
	for m, n := range want {
		if got[m] != n {
			t.Errorf("Calls[%s] = %d, want %d (all: %v)", m, got[m], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Calls = %v, want only %v", got, want)
	}
}
