package awslambda

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// SQS attribute names the driver sets or reads.
const (
	attrVisibility = string(sqstypes.QueueAttributeNameVisibilityTimeout)
	attrRetention  = string(sqstypes.QueueAttributeNameMessageRetentionPeriod)
	attrRedrive    = string(sqstypes.QueueAttributeNameRedrivePolicy)
	attrPolicy     = string(sqstypes.QueueAttributeNamePolicy)
	attrSSE        = string(sqstypes.QueueAttributeNameSqsManagedSseEnabled)
	attrKMSKey     = string(sqstypes.QueueAttributeNameKmsMasterKeyId)
)

type queueSeen struct {
	url, arn string
	attrs    map[string]string
	tags     map[string]string // nil for an adopted queue, whose tags are not ours
}

type redrive struct {
	DeadLetterTargetArn string      `json:"deadLetterTargetArn"`
	MaxReceiveCount     json.Number `json:"maxReceiveCount"`
}

func redrivePolicy(dlqARN string, maxAttempts int64) string {
	b, _ := json.Marshal(redrive{DeadLetterTargetArn: dlqARN, MaxReceiveCount: json.Number(strconv.FormatInt(maxAttempts, 10))})
	return string(b)
}

// parseRedrive reads a redrive policy; SQS has returned maxReceiveCount both as a number and a string.
func parseRedrive(doc string) (dlqARN string, maxAttempts int64) {
	var r struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if json.Unmarshal([]byte(doc), &r) != nil {
		return "", 0
	}
	switch v := r.MaxReceiveCount.(type) {
	case float64:
		maxAttempts = int64(v)
	case string:
		maxAttempts, _ = strconv.ParseInt(v, 10, 64)
	}
	return r.DeadLetterTargetArn, maxAttempts
}

func days(d int64) string { return strconv.FormatInt(d*86400, 10) }

// dlqAttrs are the dead-letter queue's settings.
func dlqAttrs(h *spec.Handler) map[string]string {
	return map[string]string{attrRetention: days(h.DeadLetter.RetentionDays), attrSSE: "true"}
}

// queueAttrs are a created source queue's settings. Its retention is the DLQ's: SQS keeps a message's
// first enqueue time when it moves it, so a longer source retention would expire it in the DLQ early.
// SNS cannot deliver to a queue under the AWS-managed KMS key, hence SQS-managed encryption. The
// policy is always sent: moto drops a queue's policy on any update that omits it.
func queueAttrs(h *spec.Handler, dlqARN, policy string) map[string]string {
	return map[string]string{
		attrVisibility: strconv.FormatInt(h.Trigger.VisibilityTimeoutS, 10),
		attrRetention:  days(h.DeadLetter.RetentionDays),
		attrRedrive:    redrivePolicy(dlqARN, h.Retry.MaxAttempts),
		attrSSE:        "true",
		attrPolicy:     policy,
	}
}

// adoptedAttrs are what the driver sets on an existing queue it consumes.
func adoptedAttrs(h *spec.Handler, dlqARN string) map[string]string {
	return map[string]string{
		attrVisibility: strconv.FormatInt(h.Trigger.VisibilityTimeoutS, 10),
		attrRedrive:    redrivePolicy(dlqARN, h.Retry.MaxAttempts),
	}
}

// attrsDiffer reports whether have lacks any of want's values (documents compared by value).
func attrsDiffer(want, have map[string]string) bool {
	for k, v := range want {
		switch k {
		case attrRedrive, attrPolicy:
			if !sameJSON(v, have[k]) {
				return true
			}
		default:
			if have[k] != v {
				return true
			}
		}
	}
	return false
}

// createQueue creates a queue, retrying while SQS refuses a name deleted in the last 60 s.
func (d *Driver) createQueue(ctx context.Context, c driver.Component, name string, attrs, tags map[string]string) (string, error) {
	attrs = withoutEmpty(attrs)
	var out *sqs.CreateQueueOutput
	err := plumbing.RetryWhile(ctx, queueReuseTimeout, isQueueDeletedRecently, func() (err error) {
		out, err = d.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs, Tags: tags})
		return err
	})
	if err != nil {
		return "", fail(c, "creating", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (d *Driver) setQueueAttrs(ctx context.Context, c driver.Component, url string, attrs map[string]string) error {
	_, err := d.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: attrs})
	return fail(c, "updating", url, err)
}

func (d *Driver) tagQueue(ctx context.Context, c driver.Component, cur *queueSeen, tags map[string]string) error {
	err := plumbing.Retag(tags, cur.tags,
		func(keys []string) error {
			_, err := d.sqs.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: &cur.url, TagKeys: keys})
			return err
		},
		func(set map[string]string) error {
			_, err := d.sqs.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: &cur.url, Tags: set})
			return err
		})
	return fail(c, "updating", cur.url, err)
}

// readQueue returns nil when the queue is gone; withTags adds ListQueueTags.
func (d *Driver) readQueue(ctx context.Context, c driver.Component, url string, withTags bool) (*queueSeen, error) {
	out, err := d.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(c, "reading", url, err)
	}
	q := &queueSeen{url: url, arn: d.queueARN(url), attrs: out.Attributes}
	if withTags {
		tags, err := d.sqs.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: &url})
		if ok, err := codes.Exists(err); !ok {
			return nil, fail(c, "reading the tags of", url, err)
		}
		q.tags = tags.Tags
		if q.tags == nil {
			q.tags = map[string]string{}
		}
	}
	return q, nil
}

// queueURL looks up the URL of the queue with ARN arn.
func (d *Driver) queueURL(ctx context.Context, c driver.Component, arn string) (string, error) {
	a, _ := parseARN(arn)
	out, err := d.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(a.Resource), QueueOwnerAWSAccountId: aws.String(a.Account)})
	if err != nil {
		return "", fail(c, "finding", arn, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (d *Driver) deleteQueue(ctx context.Context, c driver.Component, url string) error {
	_, err := d.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &url})
	return fail(c, "deleting", url, codes.IgnoreNotFound(err))
}

func withoutEmpty(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// restoreQueue gives an adopted queue back the visibility timeout and redrive policy it had before
// ("" removes the redrive policy), with its current policy (see applyAdoptedQueue).
func (d *Driver) restoreQueue(ctx context.Context, url, visibility, redrive string) error {
	q, err := d.readQueue(ctx, driver.Queue, url, false)
	if err != nil || q == nil {
		return err
	}
	attrs := map[string]string{attrVisibility: visibility, attrRedrive: redrive}
	if visibility == "" {
		delete(attrs, attrVisibility)
	}
	if p := q.attrs[attrPolicy]; p != "" {
		attrs[attrPolicy] = p
	}
	_, err = d.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: attrs})
	return fail(driver.Queue, "restoring", url, codes.IgnoreNotFound(err))
}
