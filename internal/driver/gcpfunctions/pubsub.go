package gcpfunctions

import (
	"context"
	"maps"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Roles of the Pub/Sub service agent: it publishes what exhausted its attempts to the dead-letter
// topic, and acknowledges it on the source subscription. Without them nothing is ever dead-lettered.
const (
	publisher  = "roles/pubsub.publisher"
	subscriber = "roles/pubsub.subscriber"
)

type topicSeen struct {
	name      string
	labels    map[string]string
	retention time.Duration
	// agentOK: the service agent may publish (read for the dead-letter topic only).
	agentOK bool
}

type subscriptionSeen struct {
	sub     *pubsubpb.Subscription
	agentOK bool
}

// createTopic creates a topic with the handler's labels. Google encrypts it at rest.
func (d *Driver) createTopic(ctx context.Context, c driver.Component, id string, labels map[string]string) (string, error) {
	return d.createTopicAs(ctx, c, &pubsubpb.Topic{Name: d.topicName(id), Labels: labels}, HandlerLabel)
}

// createTopicAs creates want; owner is the label that names whose it is, for a create whose
// response was lost.
func (d *Driver) createTopicAs(ctx context.Context, c driver.Component, want *pubsubpb.Topic, owner string) (string, error) {
	name := want.GetName()
	err := d.create(func(retry gax.CallOption) error {
		_, err := d.topics.CreateTopic(ctx, want, retry)
		return err
	}, func() (bool, error) {
		t, err := d.readTopic(ctx, c, name, false)
		return t != nil && t.labels[owner] == want.GetLabels()[owner], err
	})
	if err != nil {
		return "", fail(c, "creating", lastPart(name), err)
	}
	return name, nil
}

// readTopic returns nil when the topic is gone; agent also reads whether the service agent may publish.
func (d *Driver) readTopic(ctx context.Context, c driver.Component, name string, agent bool) (*topicSeen, error) {
	t, err := d.topics.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: name}, d.retry)
	if found, err := codesOf.Exists(err); !found {
		return nil, fail(c, "reading", name, err)
	}
	s := &topicSeen{name: name, labels: t.GetLabels(), retention: t.GetMessageRetentionDuration().AsDuration()}
	if agent {
		if s.agentOK, err = d.agentHas(ctx, d.topics, name, publisher); err != nil {
			return nil, fail(c, "reading the IAM policy of", name, err)
		}
	}
	return s, nil
}

func (d *Driver) setTopicLabels(ctx context.Context, c driver.Component, name string, labels map[string]string) error {
	_, err := d.topics.UpdateTopic(ctx, &pubsubpb.UpdateTopicRequest{
		Topic: &pubsubpb.Topic{Name: name, Labels: labels}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}},
	}, d.retry)
	return fail(c, "updating", name, err)
}

func (d *Driver) deleteTopic(ctx context.Context, c driver.Component, name string) error {
	err := d.topics.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: name}, d.retry)
	return fail(c, "deleting", name, codesOf.IgnoreNotFound(err))
}

// agentHas reports whether the Pub/Sub service agent holds role on resource.
func (d *Driver) agentHas(ctx context.Context, c policyClient, resource, role string) (bool, error) {
	agent, err := d.serviceAgent(ctx)
	if err != nil {
		return false, err
	}
	p, err := getPolicy(ctx, c, resource, d.retry)
	if err != nil {
		return false, err
	}
	return binding{role: role, member: agent}.in(p), nil
}

// grantAgent gives the Pub/Sub service agent role on resource.
func (d *Driver) grantAgent(ctx context.Context, c policyClient, comp driver.Component, resource, role string) error {
	agent, err := d.serviceAgent(ctx)
	if err == nil {
		err = d.grant(ctx, c, resource, binding{role: role, member: agent}, false)
	}
	return fail(comp, "granting the Pub/Sub service agent "+role+" on", resource, err)
}

// deadLetterSubscription is the pull subscription that keeps what reaches the dead-letter topic for
// retention_days, and never expires (the default expires a subscription idle for 31 days, and this
// one is idle by design).
func (d *Driver) deadLetterSubscription(h *spec.Handler, topic string) *pubsubpb.Subscription {
	return &pubsubpb.Subscription{
		Name: d.subscriptionName(d.names(h.Name).DeadLetters), Topic: topic, Labels: labelsFor(h),
		AckDeadlineSeconds:       60,
		MessageRetentionDuration: durationpb.New(time.Duration(h.DeadLetter.RetentionDays) * 24 * time.Hour),
		ExpirationPolicy:         &pubsubpb.ExpirationPolicy{},
	}
}

// pushSubscription delivers the trigger's messages to the function, one per request, with an OIDC
// token of the handler's account whose audience is the function's URL; a failed delivery is retried
// after the backoff, and after max_attempts goes to the dead-letter topic.
func (d *Driver) pushSubscription(h *spec.Handler, topic, deadLetter, uri, email string) *pubsubpb.Subscription {
	s := &pubsubpb.Subscription{
		Name: d.subscriptionName(d.names(h.Name).Push), Topic: topic, Labels: labelsFor(h),
		PushConfig: &pubsubpb.PushConfig{
			PushEndpoint: uri,
			AuthenticationMethod: &pubsubpb.PushConfig_OidcToken_{OidcToken: &pubsubpb.PushConfig_OidcToken{
				ServiceAccountEmail: email, Audience: uri,
			}},
		},
		AckDeadlineSeconds:       int32(h.Trigger.VisibilityTimeoutS),
		MessageRetentionDuration: durationpb.New(time.Duration(h.DeadLetter.RetentionDays) * 24 * time.Hour),
		ExpirationPolicy:         &pubsubpb.ExpirationPolicy{},
		RetryPolicy: &pubsubpb.RetryPolicy{
			MinimumBackoff: durationpb.New(time.Duration(h.Retry.MinBackoffS) * time.Second),
			MaximumBackoff: durationpb.New(600 * time.Second),
		},
		DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{DeadLetterTopic: deadLetter, MaxDeliveryAttempts: int32(h.Retry.MaxAttempts)},
		Filter:           subscriptionFilter(h.Trigger.Filter),
	}
	if h.Trigger.Paused {
		// A push subscription without a push endpoint is a pull one nobody pulls: messages wait in it
		// (for its retention) until the endpoint is set again.
		s.PushConfig = &pubsubpb.PushConfig{}
	}
	return s
}

func (d *Driver) createSubscription(ctx context.Context, c driver.Component, want *pubsubpb.Subscription) (string, error) {
	err := d.create(func(retry gax.CallOption) error {
		_, err := d.subs.CreateSubscription(ctx, want, retry)
		return err
	}, func() (bool, error) {
		s, err := d.readSubscription(ctx, c, want.GetName(), false)
		return s != nil && s.sub.GetLabels()[HandlerLabel] == want.GetLabels()[HandlerLabel], err
	})
	if err != nil {
		return "", fail(c, "creating", lastPart(want.GetName()), err)
	}
	return want.GetName(), nil
}

// readSubscription returns nil when the subscription is gone; agent also reads whether the service
// agent may acknowledge on it.
func (d *Driver) readSubscription(ctx context.Context, c driver.Component, name string, agent bool) (*subscriptionSeen, error) {
	sub, err := d.subs.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name}, d.retry)
	if found, err := codesOf.Exists(err); !found {
		return nil, fail(c, "reading", name, err)
	}
	s := &subscriptionSeen{sub: sub}
	if agent {
		if s.agentOK, err = d.agentHas(ctx, d.subs, name, subscriber); err != nil {
			return nil, fail(c, "reading the IAM policy of", name, err)
		}
	}
	return s, nil
}

// updateSubscription brings have's mutable settings to want's, in place.
func (d *Driver) updateSubscription(ctx context.Context, c driver.Component, have, want *pubsubpb.Subscription) error {
	var paths []string
	if !maps.Equal(have.GetLabels(), want.GetLabels()) {
		paths = append(paths, "labels")
	}
	if have.GetAckDeadlineSeconds() != want.GetAckDeadlineSeconds() {
		paths = append(paths, "ack_deadline_seconds")
	}
	if have.GetMessageRetentionDuration().AsDuration() != want.GetMessageRetentionDuration().AsDuration() {
		paths = append(paths, "message_retention_duration")
	}
	if have.GetExpirationPolicy().GetTtl() != nil {
		paths = append(paths, "expiration_policy")
	}
	if want.GetPushConfig() != nil && !samePush(have.GetPushConfig(), want.GetPushConfig()) && (want.GetPushConfig().GetPushEndpoint() != "" || have.GetPushConfig().GetPushEndpoint() != "") {
		paths = append(paths, "push_config")
	}
	if want.GetRetryPolicy() != nil && have.GetRetryPolicy().GetMinimumBackoff().AsDuration() != want.GetRetryPolicy().GetMinimumBackoff().AsDuration() {
		paths = append(paths, "retry_policy")
	}
	if want.GetDeadLetterPolicy() != nil && (have.GetDeadLetterPolicy().GetDeadLetterTopic() != want.GetDeadLetterPolicy().GetDeadLetterTopic() ||
		have.GetDeadLetterPolicy().GetMaxDeliveryAttempts() != want.GetDeadLetterPolicy().GetMaxDeliveryAttempts()) {
		paths = append(paths, "dead_letter_policy")
	}
	if len(paths) == 0 {
		return nil
	}
	_, err := d.subs.UpdateSubscription(ctx, &pubsubpb.UpdateSubscriptionRequest{Subscription: want, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}}, d.retry)
	return fail(c, "updating", want.GetName(), err)
}

func samePush(a, b *pubsubpb.PushConfig) bool {
	return a.GetPushEndpoint() == b.GetPushEndpoint() && a.GetOidcToken().GetServiceAccountEmail() == b.GetOidcToken().GetServiceAccountEmail() &&
		a.GetOidcToken().GetAudience() == b.GetOidcToken().GetAudience()
}

func (d *Driver) deleteSubscription(ctx context.Context, c driver.Component, name string) error {
	err := d.subs.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: name}, d.retry)
	return fail(c, "deleting", name, codesOf.IgnoreNotFound(err))
}
