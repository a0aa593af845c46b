package gcpstack

import (
	"context"
	"maps"
	"net"
	"slices"
	"sync"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/threefactor/terraform-provider-threefactor/acctest/grpcproxy"
)

// labels stands in for the Pub/Sub emulator where it lacks what the real service has: it refuses
// "labels" in an update mask of a topic or a subscription. It keeps the labels of each topic and
// subscription the updates set, shows them on reads and forgets them on deletes, and sends every
// other part of these calls to the emulator.
type labels struct {
	pubsubpb.UnimplementedPublisherServer
	pubsubpb.UnimplementedSubscriberServer
	topics *pubsub.TopicAdminClient
	subs   *pubsub.SubscriptionAdminClient

	mu  sync.Mutex
	set map[string]map[string]string
}

// labelRoutes are the calls the overlay takes.
var labelRoutes = []string{
	"/google.pubsub.v1.Publisher/GetTopic", "/google.pubsub.v1.Publisher/UpdateTopic", "/google.pubsub.v1.Publisher/DeleteTopic",
	"/google.pubsub.v1.Subscriber/GetSubscription", "/google.pubsub.v1.Subscriber/UpdateSubscription", "/google.pubsub.v1.Subscriber/DeleteSubscription",
}

// serveLabels starts the overlay and returns the proxy routes that send its calls to it, and its
// server, to stop.
func serveLabels(topics *pubsub.TopicAdminClient, subs *pubsub.SubscriptionAdminClient) ([]grpcproxy.Route, *grpc.Server, error) {
	l := &labels{topics: topics, subs: subs, set: map[string]map[string]string{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	s := grpc.NewServer()
	pubsubpb.RegisterPublisherServer(s, l)
	pubsubpb.RegisterSubscriberServer(s, l)
	go func() { _ = s.Serve(lis) }()
	var routes []grpcproxy.Route
	for _, m := range labelRoutes {
		routes = append(routes, grpcproxy.Route{Prefix: m, Target: lis.Addr().String()})
	}
	return routes, s, nil
}

// withoutLabels returns paths less "labels", and whether it was there.
func withoutLabels(paths []string) ([]string, bool) {
	i := slices.Index(paths, "labels")
	if i < 0 {
		return paths, false
	}
	return slices.Delete(slices.Clone(paths), i, i+1), true
}

func (l *labels) label(name string, into map[string]string) map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if set, ok := l.set[name]; ok {
		return maps.Clone(set)
	}
	return into
}

func (l *labels) remember(name string, set map[string]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if set == nil {
		delete(l.set, name)
		return
	}
	l.set[name] = maps.Clone(set)
}

func (l *labels) GetTopic(ctx context.Context, req *pubsubpb.GetTopicRequest) (*pubsubpb.Topic, error) {
	t, err := l.topics.GetTopic(ctx, req)
	if err == nil {
		t.Labels = l.label(t.GetName(), t.GetLabels())
	}
	return t, err
}

func (l *labels) UpdateTopic(ctx context.Context, req *pubsubpb.UpdateTopicRequest) (*pubsubpb.Topic, error) {
	paths, setLabels := withoutLabels(req.GetUpdateMask().GetPaths())
	var t *pubsubpb.Topic
	var err error
	if len(paths) > 0 {
		req.UpdateMask.Paths = paths
		t, err = l.topics.UpdateTopic(ctx, req)
	} else {
		t, err = l.topics.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: req.GetTopic().GetName()})
	}
	if err != nil {
		return nil, err
	}
	if setLabels {
		l.remember(t.GetName(), req.GetTopic().GetLabels())
	}
	t.Labels = l.label(t.GetName(), t.GetLabels())
	return t, nil
}

func (l *labels) DeleteTopic(ctx context.Context, req *pubsubpb.DeleteTopicRequest) (*emptypb.Empty, error) {
	err := l.topics.DeleteTopic(ctx, req)
	if err == nil {
		l.remember(req.GetTopic(), nil)
	}
	return &emptypb.Empty{}, err
}

func (l *labels) GetSubscription(ctx context.Context, req *pubsubpb.GetSubscriptionRequest) (*pubsubpb.Subscription, error) {
	s, err := l.subs.GetSubscription(ctx, req)
	if err == nil {
		s.Labels = l.label(s.GetName(), s.GetLabels())
	}
	return s, err
}

func (l *labels) UpdateSubscription(ctx context.Context, req *pubsubpb.UpdateSubscriptionRequest) (*pubsubpb.Subscription, error) {
	paths, setLabels := withoutLabels(req.GetUpdateMask().GetPaths())
	var s *pubsubpb.Subscription
	var err error
	if len(paths) > 0 {
		req.UpdateMask.Paths = paths
		s, err = l.subs.UpdateSubscription(ctx, req)
	} else {
		s, err = l.subs.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: req.GetSubscription().GetName()})
	}
	if err != nil {
		return nil, err
	}
	if setLabels {
		l.remember(s.GetName(), req.GetSubscription().GetLabels())
	}
	s.Labels = l.label(s.GetName(), s.GetLabels())
	return s, nil
}

func (l *labels) DeleteSubscription(ctx context.Context, req *pubsubpb.DeleteSubscriptionRequest) (*emptypb.Empty, error) {
	err := l.subs.DeleteSubscription(ctx, req)
	if err == nil {
		l.remember(req.GetSubscription(), nil)
	}
	return &emptypb.Empty{}, err
}
