// Package gcpstack assembles the Google side of the emulation from its parts: the fakes of the APIs
// that have no emulator (package gcpfake) and Google's Pub/Sub emulator (package gcloud) behind one
// proxy (package grpcproxy) that sends what the emulator lacks elsewhere: IAM policy calls to the
// fakes, label updates to an overlay (labels.go), and every service the fakes serve to them, so
// that the proxy's one address reaches every Google API the provider calls. The provider's
// acceptance harness (gcptest) and the emulator kit (cmd/threefactor) share it.
package gcpstack

import (
	"context"
	"strings"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
	"github.com/threefactor/terraform-provider-threefactor/acctest/gcpfake"
	"github.com/threefactor/terraform-provider-threefactor/acctest/grpcproxy"
)

// Stack is the fakes and a Pub/Sub emulator behind one proxy.
type Stack struct {
	// Fake serves Cloud Functions, IAM, Cloud Run, Resource Manager, Firestore admin and IAM policies.
	Fake *gcpfake.Server
	// Proxy stands in front of the emulator and routes to Fake and the overlay what the emulator lacks.
	Proxy *grpcproxy.Proxy
	// Topics and Subs reach the emulator directly, behind the proxy's back.
	Topics *pubsub.TopicAdminClient
	Subs   *pubsub.SubscriptionAdminClient

	overlay *grpc.Server
}

// Start assembles a stack in front of the Pub/Sub emulator at pubsubHost ("127.0.0.1:port"), with
// fakes started with opts; their IAMResource is the stack's own (an IAM policy exists only for a
// topic or subscription the emulator has).
func Start(ctx context.Context, pubsubHost string, opts gcpfake.Options) (st *Stack, err error) {
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.Topics, err = pubsub.NewTopicAdminClient(ctx, gcloud.ClientOptions(pubsubHost)...); err != nil {
		return nil, err
	}
	if s.Subs, err = pubsub.NewSubscriptionAdminClient(ctx, gcloud.ClientOptions(pubsubHost)...); err != nil {
		return nil, err
	}
	opts.IAMResource = s.PubSubResource
	if s.Fake, err = gcpfake.Start(ctx, opts); err != nil {
		return nil, err
	}
	routes, overlay, err := serveLabels(s.Topics, s.Subs)
	if err != nil {
		return nil, err
	}
	s.overlay = overlay
	for _, svc := range s.Fake.Services() {
		routes = append(routes, grpcproxy.Route{Prefix: "/" + svc + "/", Target: s.Fake.Addr()})
	}
	if s.Proxy, err = grpcproxy.New(pubsubHost, routes...); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops what Start started; the emulator is the caller's.
func (s *Stack) Close() {
	if s.Proxy != nil {
		s.Proxy.Close()
	}
	if s.overlay != nil {
		s.overlay.Stop()
	}
	if s.Fake != nil {
		s.Fake.Close()
	}
	if s.Topics != nil {
		_ = s.Topics.Close()
	}
	if s.Subs != nil {
		_ = s.Subs.Close()
	}
}

// Endpoint is the one address ("http://127.0.0.1:port") that reaches every API the provider calls.
func (s *Stack) Endpoint() string { return "http://" + s.Proxy.Addr }

// PubSubResource tells whether a topic or subscription exists in the emulator (nil, or the
// emulator's error: NOT_FOUND when it is gone; other resources exist) and drops the IAM policy of
// one that is gone, as Google deletes it with the resource. It is the fakes' IAMResource.
func (s *Stack) PubSubResource(resource string) error {
	err := s.exists(resource)
	if status.Code(err) == codes.NotFound {
		s.Fake.DropPolicy(resource)
	}
	return err
}

func (s *Stack) exists(resource string) error {
	ctx := context.Background()
	var err error
	switch {
	case strings.Contains(resource, "/topics/"):
		_, err = s.Topics.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: resource})
	case strings.Contains(resource, "/subscriptions/"):
		_, err = s.Subs.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: resource})
	}
	return err
}
