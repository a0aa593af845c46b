package awslambda

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

type topicSeen struct {
	arn  string
	tags map[string]string
}

type subSeen struct {
	arn, topicARN, endpoint string
	raw                     bool
}

// subscriptionTopic is the topic of a subscription ARN (<topic ARN>:<id>).
func subscriptionTopic(subARN string) string {
	return subARN[:max(strings.LastIndex(subARN, ":"), 0)]
}

func (d *Driver) createTopic(ctx context.Context, name string, tags map[string]string) (string, error) {
	out, err := d.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: &name, Tags: snsTags(tags)})
	if err != nil {
		return "", fail(driver.Topic, "creating", name, err)
	}
	return aws.ToString(out.TopicArn), nil
}

func (d *Driver) tagTopic(ctx context.Context, cur *topicSeen, tags map[string]string) error {
	err := plumbing.Retag(tags, cur.tags,
		func(keys []string) error {
			_, err := d.sns.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: &cur.arn, TagKeys: keys})
			return err
		},
		func(set map[string]string) error {
			_, err := d.sns.TagResource(ctx, &sns.TagResourceInput{ResourceArn: &cur.arn, Tags: snsTags(set)})
			return err
		})
	return fail(driver.Topic, "updating", cur.arn, err)
}

// readTopic returns nil when the topic is gone. GetTopicAttributes lacks tags.
func (d *Driver) readTopic(ctx context.Context, arn string) (*topicSeen, error) {
	_, err := d.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &arn})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Topic, "reading", arn, err)
	}
	out, err := d.sns.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: &arn})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Topic, "reading the tags of", arn, err)
	}
	t := &topicSeen{arn: arn, tags: map[string]string{}}
	for _, tag := range out.Tags {
		t.tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return t, nil
}

func (d *Driver) deleteTopic(ctx context.Context, arn string) error {
	_, err := d.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &arn})
	return fail(driver.Topic, "deleting", arn, codes.IgnoreNotFound(err))
}

// subscribe subscribes the queue with raw delivery, so the function receives the published body.
func (d *Driver) subscribe(ctx context.Context, topicARN, queueARN string) (string, error) {
	out, err := d.sns.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: &topicARN, Protocol: aws.String("sqs"), Endpoint: &queueARN,
		Attributes: map[string]string{"RawMessageDelivery": "true"}, ReturnSubscriptionArn: true,
	})
	if err != nil {
		return "", fail(driver.Subscription, "creating", topicARN, err)
	}
	return aws.ToString(out.SubscriptionArn), nil
}

func (d *Driver) setRawDelivery(ctx context.Context, arn string) error {
	_, err := d.sns.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{
		SubscriptionArn: &arn, AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true"),
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
	return &subSeen{arn: arn, topicARN: a["TopicArn"], endpoint: a["Endpoint"], raw: a["RawMessageDelivery"] == "true"}, nil
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
