package runner

import (
	"context"
	"testing"
	"time"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
)

// TestSeeForwardedCountsEachDeadLetterOnce: the run waits for each message failed at its last
// attempt, so messages with one key (equal data, one publish time) wait for as many dead letters,
// and a dead letter seen again on a later pull (seeForwarded nacks what it sees) is not counted
// twice.
func TestSeeForwardedCountsEachDeadLetterOnce(t *testing.T) {
	e := gcloud.PubSub(t)
	p := "projects/" + e.Project(t)
	ctx := context.Background()
	topics, err := pubsub.NewTopicAdminClient(ctx, e.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = topics.Close() }()
	subs, err := PubSubClient(ctx, e.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = subs.Close() }()
	dl, dls := p+"/topics/orders--dlq", p+"/subscriptions/orders--dead-letters"
	if _, err := topics.CreateTopic(ctx, &pubsubpb.Topic{Name: dl}); err != nil {
		t.Fatal(err)
	}
	if _, err := subs.CreateSubscription(ctx, &pubsubpb.Subscription{Name: dls, Topic: dl, AckDeadlineSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	published := time.Date(2026, 11, 30, 11, 43, 35, 116e6, time.UTC)
	key := forwarded(p+"/subscriptions/orders--push", published, []byte("x"))
	// Three messages failed with this key; two dead letters of them are there, one seen many times.
	d := &gcpDelivery{h: &Handler{DeadLetterSubscription: dls}, subs: subs, forwarding: map[string]int{key: 3}, counted: map[string]bool{}}
	letter := &pubsubpb.PubsubMessage{Data: []byte("x"), Attributes: map[string]string{
		"CloudPubSubDeadLetterSourceSubscription": "orders--push", "CloudPubSubDeadLetterSourceTopicPublishTime": "2026-11-30T11:43:35.116Z",
	}}
	if _, err := topics.Publish(ctx, &pubsubpb.PublishRequest{Topic: dl, Messages: []*pubsubpb.PubsubMessage{letter, letter}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for len(d.counted) < 2 {
		d.seeForwarded(ctx)
		select {
		case <-ctx.Done():
			t.Fatalf("after 30 s: counted %v, forwarding %v; want both dead letters counted", d.counted, d.forwarding)
		case <-time.After(100 * time.Millisecond): // the emulator redelivers what seeForwarded nacked
		}
	}
	if d.forwarding[key] != 1 {
		t.Errorf("forwarding %v after seeing 2 dead letters of 3 (and seeing them again); want 1 still awaited", d.forwarding)
	}
}
