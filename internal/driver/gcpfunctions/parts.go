package gcpfunctions

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// TopicLabel names, on an app's topic, the threefactor_topic it belongs to: only a topic that
// carries it is taken as the provider's when a create's response was lost.
const TopicLabel = LabelPrefix + "topic"

var _ driver.Parts = (*Driver)(nil)

// Topics implements driver.Parts: Pub/Sub topics with a message retention, encrypted at rest with
// Google-managed keys.
func (d *Driver) Topics() driver.Part[spec.AppTopic] { return topics{d} }

// Tables implements driver.Parts: each table a Firestore native database of its own, whose items
// are the documents of one collection named as the table, so that a grant (conditioned on the
// database, the narrowest Firestore has) reaches that table and nothing else.
func (d *Driver) Tables() driver.Part[spec.AppTable] { return tables{d} }

type topics struct{ d *Driver }

func days(n int64) *durationpb.Duration { return durationpb.New(time.Duration(n) * 24 * time.Hour) }

func topicLabels(t *spec.AppTopic) map[string]string {
	l := maps.Clone(t.Tags)
	if l == nil {
		l = map[string]string{}
	}
	l[TopicLabel] = t.Name
	return l
}

func (p topics) Apply(ctx context.Context, t *spec.AppTopic, id string) (string, error) {
	d, labels := p.d, topicLabels(t)
	if id != "" {
		cur, err := d.readTopic(ctx, driver.AppTopic, id, false)
		if err != nil || cur != nil {
			if err == nil {
				err = p.update(ctx, cur, t, labels)
			}
			return id, err
		}
	}
	want := &pubsubpb.Topic{Name: d.topicName(t.Name), Labels: labels, MessageRetentionDuration: days(t.RetentionDays)}
	name, err := d.createTopicAs(ctx, driver.AppTopic, want, TopicLabel)
	if codeOf(err) == driver.AlreadyExists {
		return "", driver.Errorf(driver.AppTopic, "creating", t.Name, driver.AlreadyExists, fmt.Errorf(
			"a Pub/Sub topic named %q exists and belongs to no threefactor_topic: choose another name, or import it (%s) to manage it", t.Name, d.ImportID(t.Name)))
	}
	return name, err
}

// update brings the topic's labels and retention to t's, in one call.
func (p topics) update(ctx context.Context, cur *topicSeen, t *spec.AppTopic, labels map[string]string) error {
	var paths []string
	if !maps.Equal(cur.labels, labels) {
		paths = append(paths, "labels")
	}
	if cur.retention != days(t.RetentionDays).AsDuration() {
		paths = append(paths, "message_retention_duration")
	}
	if len(paths) == 0 {
		return nil
	}
	_, err := p.d.topics.UpdateTopic(ctx, &pubsubpb.UpdateTopicRequest{
		Topic:      &pubsubpb.Topic{Name: cur.name, Labels: labels, MessageRetentionDuration: days(t.RetentionDays)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
	}, p.d.retry)
	return fail(driver.AppTopic, "updating", cur.name, err)
}

func (p topics) Read(ctx context.Context, id string) (*driver.ObservedPart[spec.AppTopic], error) {
	cur, err := p.d.readTopic(ctx, driver.AppTopic, id, false)
	if err != nil || cur == nil {
		return nil, err
	}
	return &driver.ObservedPart[spec.AppTopic]{
		Spec: spec.AppTopic{Name: lastPart(id), Cloud: Name, RetentionDays: int64(cur.retention / (24 * time.Hour)), Tags: userLabels(cur.labels)},
		// Pub/Sub encrypts every topic at rest: with a Google-managed key unless one of the user's is set.
		Encrypted: true, ID: id, Target: id,
	}, nil
}

// Delete refuses while the topic has subscriptions: Pub/Sub detaches them from a deleted topic, and
// the handlers behind them would stop receiving events without a word.
func (p topics) Delete(ctx context.Context, id string, force bool) error {
	d := p.d
	if !force {
		var subs []string
		it := d.topics.ListTopicSubscriptions(ctx, &pubsubpb.ListTopicSubscriptionsRequest{Topic: id}, d.retry)
		for {
			s, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return fail(driver.AppTopic, "listing the subscriptions of", id, err)
			}
			subs = append(subs, s)
		}
		if len(subs) > 0 {
			return driver.Errorf(driver.AppTopic, "deleting", id, driver.FailedPrecondition, fmt.Errorf(
				"it still has %d subscription(s) this configuration does not manage (%s): a deleted topic's subscriptions are detached and their "+
					"handlers would silently stop receiving events. Remove those subscribers first, or set force_destroy = true", len(subs), strings.Join(subs, ", ")))
		}
	}
	return d.deleteTopic(ctx, driver.AppTopic, id)
}

func (p topics) Locate(ctx context.Context, name string) (string, error) {
	t, err := p.d.readTopic(ctx, driver.AppTopic, p.d.topicName(name), false)
	switch {
	case err != nil:
		return "", err
	case t == nil:
		return "", driver.Errorf(driver.AppTopic, "finding", name, driver.NotFound, errors.New("no topic of that name in project "+p.d.project))
	}
	return t.name, nil
}

func (p topics) ImportID(name string) string { return p.d.ImportID(name) }
