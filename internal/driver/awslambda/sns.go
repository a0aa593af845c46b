package awslambda

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// topicKey is the key SNS encrypts a topic with: the AWS-managed key, which publishers of the same
// account may use without a key policy of their own.
const topicKey = "alias/aws/sns"

type topicSeen struct {
	arn       string
	encrypted bool
	tags      map[string]string
}

type subSeen struct {
	arn, topicARN, endpoint string
	raw                     bool
	filter                  string // the filter policy, "" for none
}

// filterPolicy is trigger.filter as an SNS filter policy on message attributes, "" for none.
func filterPolicy(f map[string][]string) string {
	if len(f) == 0 {
		return ""
	}
	b, _ := json.Marshal(f) // keys sorted: the same filter gives the same bytes
	return string(b)
}

// filterOf reads a filter policy back; ok is false for a policy trigger.filter cannot express.
func filterOf(policy string) (f map[string][]string, ok bool) {
	if policy == "" {
		return nil, true
	}
	return f, json.Unmarshal([]byte(policy), &f) == nil
}

// subscriptionTopic is the topic of a subscription ARN (<topic ARN>:<id>).
func subscriptionTopic(subARN string) string {
	return subARN[:max(strings.LastIndex(subARN, ":"), 0)]
}

// createTopic creates an encrypted topic. SNS's CreateTopic is idempotent: it answers a topic of that
// name that exists with the same attributes and tags by its ARN.
func (d *Driver) createTopic(ctx context.Context, comp driver.Component, name string, tags map[string]string) (string, error) {
	out, err := d.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: &name, Tags: snsTags(tags),
		Attributes: map[string]string{"KmsMasterKeyId": topicKey}})
	if err != nil {
		return "", fail(comp, "creating", name, err)
	}
	return aws.ToString(out.TopicArn), nil
}

// encryptTopic turns encryption at rest back on.
func (d *Driver) encryptTopic(ctx context.Context, comp driver.Component, arn string) error {
	_, err := d.sns.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: &arn,
		AttributeName: aws.String("KmsMasterKeyId"), AttributeValue: aws.String(topicKey)})
	return fail(comp, "encrypting", arn, err)
}

// updateTopic restores a topic's encryption and tags.
func (d *Driver) updateTopic(ctx context.Context, comp driver.Component, cur *topicSeen, tags map[string]string) error {
	if !cur.encrypted {
		if err := d.encryptTopic(ctx, comp, cur.arn); err != nil {
			return err
		}
	}
	return d.tagTopic(ctx, comp, cur, tags)
}

func (d *Driver) tagTopic(ctx context.Context, comp driver.Component, cur *topicSeen, tags map[string]string) error {
	err := plumbing.Retag(tags, cur.tags,
		func(keys []string) error {
			_, err := d.sns.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: &cur.arn, TagKeys: keys})
			return err
		},
		func(set map[string]string) error {
			_, err := d.sns.TagResource(ctx, &sns.TagResourceInput{ResourceArn: &cur.arn, Tags: snsTags(set)})
			return err
		})
	return fail(comp, "updating", cur.arn, err)
}

// readTopic returns nil when the topic is gone. GetTopicAttributes lacks tags.
func (d *Driver) readTopic(ctx context.Context, comp driver.Component, arn string) (*topicSeen, error) {
	attrs, err := d.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &arn})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(comp, "reading", arn, err)
	}
	out, err := d.sns.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: &arn})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(comp, "reading the tags of", arn, err)
	}
	t := &topicSeen{arn: arn, encrypted: attrs.Attributes["KmsMasterKeyId"] != "", tags: map[string]string{}}
	for _, tag := range out.Tags {
		t.tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return t, nil
}

func (d *Driver) deleteTopic(ctx context.Context, comp driver.Component, arn string) error {
	_, err := d.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &arn})
	return fail(comp, "deleting", arn, codes.IgnoreNotFound(err))
}

// subscribe subscribes the queue with raw delivery, so the function receives the published body, and
// the filter policy of trigger.filter.
func (d *Driver) subscribe(ctx context.Context, topicARN, queueARN, filter string) (string, error) {
	attrs := map[string]string{"RawMessageDelivery": "true"}
	if filter != "" {
		attrs["FilterPolicy"] = filter
	}
	out, err := d.sns.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: &topicARN, Protocol: aws.String("sqs"), Endpoint: &queueARN,
		Attributes: attrs, ReturnSubscriptionArn: true,
	})
	if err != nil {
		return "", fail(driver.Subscription, "creating", topicARN, err)
	}
	return aws.ToString(out.SubscriptionArn), nil
}

// setSubscription sets one attribute of a subscription; an empty FilterPolicy removes the filter.
func (d *Driver) setSubscription(ctx context.Context, arn, name, value string) error {
	_, err := d.sns.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{
		SubscriptionArn: &arn, AttributeName: aws.String(name), AttributeValue: aws.String(value),
	})
	return fail(driver.Subscription, "updating", arn, err)
}

// readSubscription returns nil when the subscription is gone.
func (d *Driver) readSubscription(ctx context.Context, arn string) (*subSeen, error) {
	out, err := d.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: &arn})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Subscription, "reading", arn, err)
	}
	a := out.Attributes
	return &subSeen{arn: arn, topicARN: a["TopicArn"], endpoint: a["Endpoint"], raw: a["RawMessageDelivery"] == "true", filter: a["FilterPolicy"]}, nil
}

func (d *Driver) unsubscribe(ctx context.Context, arn string) error {
	_, err := d.sns.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: &arn})
	return fail(driver.Subscription, "deleting", arn, codes.IgnoreNotFound(err))
}

// findSubscription finds the subscription of queueARN to topicARN, or returns "".
func (d *Driver) findSubscription(ctx context.Context, topicARN, queueARN string) (string, error) {
	p := sns.NewListSubscriptionsByTopicPaginator(d.sns, &sns.ListSubscriptionsByTopicInput{TopicArn: &topicARN})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if ok, err := codes.Exists(err); !ok {
			return "", fail(driver.Subscription, "finding", topicARN, err)
		}
		for _, s := range page.Subscriptions {
			if aws.ToString(s.Endpoint) == queueARN {
				return aws.ToString(s.SubscriptionArn), nil
			}
		}
	}
	return "", nil
}

func snsTags(m map[string]string) []snstypes.Tag {
	var ts []snstypes.Tag
	for _, k := range sortedKeys(m) {
		ts = append(ts, snstypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return ts
}
