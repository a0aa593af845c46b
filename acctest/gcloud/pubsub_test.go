package gcloud

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func newPubSubClient(t *testing.T, e *Emulator, project string) *pubsub.Client {
	t.Helper()
	c, err := pubsub.NewClient(context.Background(), project, e.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// pushRecorder is a push endpoint: it fails the messages whose data is "fail" with 500 and accepts
// the others with 204, recording every delivery.
type pushRecorder struct {
	mu         sync.Mutex
	deliveries []pushDelivery
}

type pushDelivery struct {
	at      time.Time
	data    string
	attempt int
	auth    string
}

// pushBody is what the emulator posts: one message per request.
type pushBody struct {
	Message struct {
		Data       []byte            `json:"data"`
		MessageID  string            `json:"messageId"`
		Attributes map[string]string `json:"attributes"`
	} `json:"message"`
	Subscription    string `json:"subscription"`
	DeliveryAttempt int    `json:"deliveryAttempt"`
}

func (p *pushRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b pushBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.deliveries = append(p.deliveries, pushDelivery{time.Now(), string(b.Message.Data), b.DeliveryAttempt, r.Header.Get("Authorization")})
	p.mu.Unlock()
	if string(b.Message.Data) == "fail" {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *pushRecorder) of(data string) []pushDelivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []pushDelivery
	for _, d := range p.deliveries {
		if d.data == data {
			out = append(out, d)
		}
	}
	return out
}

// TestPubSubAdmin: the admin and data plane through the official client, and the limits the
// emulator enforces (or not), as the package doc lists them.
func TestPubSubAdmin(t *testing.T) {
	e := PubSub(t)
	project := e.Project(t)
	c := newPubSubClient(t, e, project)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := "projects/" + project + "/topics/orders"
	sub := "projects/" + project + "/subscriptions/orders-pull"
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("second CreateTopic: error %v, want AlreadyExists", err)
	}
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub, Topic: topic}); err != nil {
		t.Fatal(err)
	}
	sub7d := func(name string, s *pubsubpb.Subscription) *pubsubpb.Subscription {
		s.Name, s.Topic = "projects/"+project+"/subscriptions/"+name, topic
		return s
	}
	for _, c2 := range []struct {
		sub  *pubsubpb.Subscription
		want codes.Code
	}{
		{sub7d("retention-8d", &pubsubpb.Subscription{MessageRetentionDuration: durationpb.New(8 * 24 * time.Hour)}), codes.InvalidArgument},
		{sub7d("retention-7d", &pubsubpb.Subscription{MessageRetentionDuration: durationpb.New(7 * 24 * time.Hour)}), codes.OK},
		{sub7d("attempts-4", &pubsubpb.Subscription{DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{DeadLetterTopic: topic, MaxDeliveryAttempts: 4}}), codes.OutOfRange},
		{sub7d("attempts-101", &pubsubpb.Subscription{DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{DeadLetterTopic: topic, MaxDeliveryAttempts: 101}}), codes.OutOfRange},
		{sub7d("dlq-missing", &pubsubpb.Subscription{DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{DeadLetterTopic: topic + "-none", MaxDeliveryAttempts: 5}}), codes.NotFound},
		{sub7d("backoff-601", &pubsubpb.Subscription{RetryPolicy: &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(601 * time.Second)}}), codes.InvalidArgument},
		{sub7d("ack-601", &pubsubpb.Subscription{AckDeadlineSeconds: 601}), codes.InvalidArgument},
		{sub7d("ack-5", &pubsubpb.Subscription{AckDeadlineSeconds: 5}), codes.OK},
		{sub7d("bad-labels", &pubsubpb.Subscription{Labels: map[string]string{"Not A Key": "v"}}), codes.OK},
		{sub7d("never-expires", &pubsubpb.Subscription{ExpirationPolicy: &pubsubpb.ExpirationPolicy{}}), codes.OK},
		{&pubsubpb.Subscription{Name: "projects/" + project + "/subscriptions/no", Topic: topic}, codes.InvalidArgument},
	} {
		_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, c2.sub)
		if status.Code(err) != c2.want {
			t.Errorf("CreateSubscription %s: error %v, want %v", c2.sub.Name, err, c2.want)
		}
	}
	if _, err := c.TopicAdminClient.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: topic}); status.Code(err) != codes.Unimplemented {
		t.Errorf("GetIamPolicy: error %v, want Unimplemented", err)
	}

	pub := c.Publisher(topic)
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte("hello"), Attributes: map[string]string{"k": "v"}}).Get(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	var got *pubsub.Message
	if err := c.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		got = m
		rcancel()
	}); err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != "hello" || got.Attributes["k"] != "v" {
		t.Errorf("received %q %v", got.Data, got.Attributes)
	}

	if err := e.Reset(ctx, project); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: topic}); status.Code(err) != codes.NotFound {
		t.Errorf("GetTopic after Reset: error %v, want NotFound", err)
	}
	if _, err := c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: sub}); status.Code(err) != codes.NotFound {
		t.Errorf("GetSubscription after Reset: error %v, want NotFound", err)
	}
}

// TestPushDeadLetter: push delivery with a retry and dead-letter policy, as the provider's dead-letter
// acceptance test uses it. A message the endpoint fails (500) is delivered exactly
// max_delivery_attempts = 5 times and then reaches the dead-letter topic with the source's delivery
// count; one it accepts (204) is delivered once. With a retry policy the emulator waits about 3 s
// between later attempts, whatever the backoff (0 included): 5 failed deliveries take about 10 s and
// the dead letter arrives about 13 s after publishing. Without a retry policy it retries every
// second (dead letter after about 5 s), but the provider always sets one. The timings are logged,
// not asserted: two busy cores stretch and bunch them.
func TestPushDeadLetter(t *testing.T) {
	for _, c := range []struct {
		name  string
		retry *pubsubpb.RetryPolicy
	}{
		{"lowest backoff", &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(0), MaximumBackoff: durationpb.New(0)}},
		{"no retry policy", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testPushDeadLetter(t, c.retry)
		})
	}
}

func testPushDeadLetter(t *testing.T, retry *pubsubpb.RetryPolicy) {
	e := PubSub(t)
	project := e.Project(t)
	c := newPubSubClient(t, e, project)
	expected := 5100 * time.Millisecond // no retry policy: one attempt a second
	if retry != nil {
		expected = DeadLetterAfter(5, retry.GetMinimumBackoff().AsDuration())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*expected+20*time.Second)
	defer cancel()
	rec := &pushRecorder{}
	endpoint := httptest.NewServer(rec)
	defer endpoint.Close()

	topic, dlq := "projects/"+project+"/topics/orders", "projects/"+project+"/topics/orders-dlq"
	for _, name := range []string{topic, dlq} {
		if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	dlqSub := "projects/" + project + "/subscriptions/orders-dlq"
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: dlqSub, Topic: dlq}); err != nil {
		t.Fatal(err)
	}
	_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:  "projects/" + project + "/subscriptions/orders-push",
		Topic: topic,
		PushConfig: &pubsubpb.PushConfig{PushEndpoint: endpoint.URL + "/", AuthenticationMethod: &pubsubpb.PushConfig_OidcToken_{
			OidcToken: &pubsubpb.PushConfig_OidcToken{ServiceAccountEmail: "orders@" + project + ".iam.gserviceaccount.com", Audience: endpoint.URL},
		}},
		AckDeadlineSeconds: 10,
		RetryPolicy:        retry,
		DeadLetterPolicy:   &pubsubpb.DeadLetterPolicy{DeadLetterTopic: dlq, MaxDeliveryAttempts: 5},
		ExpirationPolicy:   &pubsubpb.ExpirationPolicy{},
	})
	if err != nil {
		t.Fatal(err)
	}

	pub := c.Publisher(topic)
	defer pub.Stop()
	start := time.Now()
	for _, data := range []string{"fail", "ok"} {
		if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte(data)}).Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rctx, rcancel := context.WithCancel(ctx)
	var dead *pubsub.Message
	var deadAt time.Time
	if err := c.Subscriber(dlqSub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		dead, deadAt = m, time.Now()
		rcancel()
	}); err != nil {
		t.Fatal(err)
	}
	if dead == nil {
		t.Fatalf("nothing was dead-lettered within %v", 2*expected+20*time.Second)
	}
	if string(dead.Data) != "fail" || dead.Attributes["CloudPubSubDeadLetterSourceDeliveryCount"] != "5" ||
		dead.Attributes["CloudPubSubDeadLetterSourceSubscription"] != "orders-push" {
		t.Errorf("dead letter %q with attributes %v", dead.Data, dead.Attributes)
	}
	fails, oks := rec.of("fail"), rec.of("ok")
	if len(fails) != 5 || len(oks) != 1 {
		t.Fatalf("deliveries: %d of the failing message, want 5; %d of the accepted one, want 1", len(fails), len(oks))
	}
	for i, d := range fails {
		if d.attempt != 0 || d.auth != "" {
			t.Errorf("delivery %d: deliveryAttempt %d, Authorization %q; the emulator sends neither", i+1, d.attempt, d.auth)
		}
	}
	t.Logf("5 deliveries took %v (attempts at %v), dead letter after %v (expected %v)",
		fails[4].at.Sub(fails[0].at).Round(10*time.Millisecond), offsets(start, fails), deadAt.Sub(start).Round(10*time.Millisecond), expected)
}

func offsets(start time.Time, ds []pushDelivery) []time.Duration {
	var out []time.Duration
	for _, d := range ds {
		out = append(out, d.at.Sub(start).Round(10*time.Millisecond))
	}
	return out
}

// TestPushStatusCodes: which answers of a push endpoint ack a message. 200, 201 and 204 do; 202 does
// not (the real service acks it), nor any other 2xx, 3xx, 4xx or 5xx. A nacked message comes back
// about every second when the subscription has no retry policy.
func TestPushStatusCodes(t *testing.T) {
	e := PubSub(t)
	project := e.Project(t)
	c := newPubSubClient(t, e, project)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	deliveries := map[int]int{}
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b pushBody
		_ = json.NewDecoder(r.Body).Decode(&b)
		code, _ := strconv.Atoi(string(b.Message.Data))
		mu.Lock()
		deliveries[code]++
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer endpoint.Close()
	topic := "projects/" + project + "/topics/codes"
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: "projects/" + project + "/subscriptions/codes", Topic: topic, PushConfig: &pubsubpb.PushConfig{PushEndpoint: endpoint.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	acks := []int{200, 201, 204}
	nacks := []int{202, 205, 299, 301, 400, 404, 409, 429, 500, 503}
	pub := c.Publisher(topic)
	defer pub.Stop()
	for _, code := range append(slices.Clone(acks), nacks...) {
		if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte(strconv.Itoa(code))}).Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		done := true
		for _, code := range nacks {
			done = done && deliveries[code] >= 3
		}
		got := maps.Clone(deliveries)
		mu.Unlock()
		if done {
			for _, code := range acks {
				if got[code] != 1 {
					t.Errorf("answer %d: %d deliveries, want 1 (acked)", code, got[code])
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries per answer after 20 s: %v; want each of %v at least 3 times (nacked)", got, nacks)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDeadLetterAfter(t *testing.T) {
	for _, c := range []struct {
		attempts int
		backoff  time.Duration
		want     time.Duration
	}{
		{5, 0, 13100 * time.Millisecond},
		{5, time.Second, 13100 * time.Millisecond},
		{5, 5 * time.Second, 29100 * time.Millisecond},
		{10, 0, 28100 * time.Millisecond},
	} {
		if got := DeadLetterAfter(c.attempts, c.backoff); got != c.want {
			t.Errorf("DeadLetterAfter(%d, %v) = %v, want %v", c.attempts, c.backoff, got, c.want)
		}
	}
}

// TestPubSubUpdate: which fields UpdateSubscription and UpdateTopic change on the emulator. Labels
// and the expiration policy cannot be updated there (the real API updates both); a subscription
// outlives its topic, which then reads "_deleted-topic_".
func TestPubSubUpdate(t *testing.T) {
	e := PubSub(t)
	project := e.Project(t)
	c := newPubSubClient(t, e, project)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic, dlq := "projects/"+project+"/topics/orders", "projects/"+project+"/topics/orders-dlq"
	for _, name := range []string{topic, dlq} {
		if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name, Labels: map[string]string{"team": "a"}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.TopicAdminClient.UpdateTopic(ctx, &pubsubpb.UpdateTopicRequest{
		Topic: &pubsubpb.Topic{Name: topic, Labels: map[string]string{"team": "b"}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}},
	})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("UpdateTopic of labels: error %v, want InvalidArgument (the emulator cannot)", err)
	}
	tp, err := c.TopicAdminClient.UpdateTopic(ctx, &pubsubpb.UpdateTopicRequest{
		Topic:      &pubsubpb.Topic{Name: topic, MessageRetentionDuration: durationpb.New(time.Hour)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"message_retention_duration"}},
	})
	if err != nil || tp.GetMessageRetentionDuration().AsDuration() != time.Hour {
		t.Errorf("UpdateTopic of message_retention_duration: %v, %v", tp, err)
	}

	sub := "projects/" + project + "/subscriptions/orders-push"
	_, err = c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: sub, Topic: topic, PushConfig: &pubsubpb.PushConfig{PushEndpoint: "http://127.0.0.1:9/a"}, Labels: map[string]string{"team": "a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		path string
		sub  *pubsubpb.Subscription
		want codes.Code
	}{
		{"ack_deadline_seconds", &pubsubpb.Subscription{AckDeadlineSeconds: 30}, codes.OK},
		{"retry_policy", &pubsubpb.Subscription{RetryPolicy: &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(time.Second)}}, codes.OK},
		{"dead_letter_policy", &pubsubpb.Subscription{DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{DeadLetterTopic: dlq, MaxDeliveryAttempts: 7}}, codes.OK},
		{"push_config", &pubsubpb.Subscription{PushConfig: &pubsubpb.PushConfig{PushEndpoint: "http://127.0.0.1:9/b"}}, codes.OK},
		{"message_retention_duration", &pubsubpb.Subscription{MessageRetentionDuration: durationpb.New(24 * time.Hour)}, codes.OK},
		{"labels", &pubsubpb.Subscription{Labels: map[string]string{"team": "b"}}, codes.InvalidArgument},
		{"expiration_policy", &pubsubpb.Subscription{ExpirationPolicy: &pubsubpb.ExpirationPolicy{}}, codes.InvalidArgument},
	} {
		u.sub.Name = sub
		_, err := c.SubscriptionAdminClient.UpdateSubscription(ctx, &pubsubpb.UpdateSubscriptionRequest{
			Subscription: u.sub, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{u.path}},
		})
		if status.Code(err) != u.want {
			t.Errorf("UpdateSubscription of %s: error %v, want %v", u.path, err, u.want)
		}
	}
	got, err := c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: sub})
	if err != nil {
		t.Fatal(err)
	}
	if got.AckDeadlineSeconds != 30 || got.GetRetryPolicy().GetMinimumBackoff().AsDuration() != time.Second ||
		got.GetDeadLetterPolicy().GetMaxDeliveryAttempts() != 7 || got.GetPushConfig().GetPushEndpoint() != "http://127.0.0.1:9/b" ||
		got.GetMessageRetentionDuration().AsDuration() != 24*time.Hour || got.Labels["team"] != "a" {
		t.Errorf("after the updates: %v", got)
	}
	// An empty dead_letter_policy under its mask removes it.
	_, err = c.SubscriptionAdminClient.UpdateSubscription(ctx, &pubsubpb.UpdateSubscriptionRequest{
		Subscription: &pubsubpb.Subscription{Name: sub}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"dead_letter_policy"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.TopicAdminClient.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: topic}); err != nil {
		t.Fatal(err)
	}
	got, err = c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: sub})
	if err != nil || got.Topic != "_deleted-topic_" || got.DeadLetterPolicy != nil {
		t.Errorf("subscription after clearing its dead-letter policy and deleting its topic: %v, %v", got, err)
	}
}
