package awslambda

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Locate implements driver.Driver. From the function it follows the links the cloud keeps: the role
// from the function, the queue from the mapping's event source, the topic from the queue's policy
// (which names the one topic allowed to send), the subscription from the topic's list. The log
// group, dead-letter queue and table are found by name. Without a function (an apply killed before
// it made one) the role found by name stands in for it, if its tag names this handler. An adopted
// queue's prior settings cannot be known: Delete then leaves its redrive policy and visibility
// timeout as they are.
func (d *Driver) Locate(ctx context.Context, name string) (driver.State, error) {
	names := d.names(name)
	fn, err := d.readFunction(ctx, names.Function)
	if err != nil {
		return nil, err
	}
	l := plumbing.NewLedger(nil, ownedKeys)
	var account, fnARN string
	if fn != nil {
		fnARN = aws.ToString(fn.cfg.FunctionArn)
		account = accountOf(fnARN)
		l.Set(string(driver.Function), fnARN)
		l.Set(string(driver.Identity), aws.ToString(fn.cfg.Role))
	} else {
		role, err := d.readRole(ctx, names.Identity)
		if err != nil {
			return nil, err
		}
		if role == nil || role.tags[HandlerTag] != name {
			return nil, driver.Errorf(driver.Function, "finding", name, driver.NotFound, errors.New("no such function in "+d.region))
		}
		account = accountOf(role.arn)
		l.Set(string(driver.Identity), role.arn)
	}
	err = plumbing.Concurrently(
		func() error {
			g, err := d.readLogGroup(ctx, logGroupName(names.Function))
			if g != nil {
				l.Set(string(driver.Logs), g.name)
			}
			return err
		},
		func() error {
			out, err := d.dynamodb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &names.DedupTable})
			if ok, err := codes.Exists(err); !ok {
				return fail(driver.DedupTable, "finding", names.DedupTable, err)
			}
			l.Set(string(driver.DedupTable), aws.ToString(out.Table.TableArn))
			return nil
		},
		func() error {
			url, err := d.queueURL(ctx, driver.DeadLetter, d.ownQueueARN(account, names.DeadLetter))
			if isNotFound(err) {
				return nil
			}
			l.Set(string(driver.DeadLetter), url)
			return err
		},
		func() error { return d.locateTrigger(ctx, l, fnARN, account, names) },
	)
	return l.Snapshot(), err
}

func (d *Driver) ownQueueARN(account, name string) string {
	return "arn:" + d.partition + ":sqs:" + d.region + ":" + account + ":" + name
}

// locateTrigger finds the mapping, the queue it reads, and for a topic-fed queue the topic and the
// subscription.
func (d *Driver) locateTrigger(ctx context.Context, l *plumbing.Ledger, fnARN, account string, names componentNames) error {
	queueARN := d.ownQueueARN(account, names.Queue)
	if fnARN != "" {
		out, err := d.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: &fnARN})
		if err != nil {
			return fail(driver.Mapping, "finding", names.Function, err)
		}
		for _, m := range out.EventSourceMappings {
			if a, ok := parseARN(aws.ToString(m.EventSourceArn)); ok && a.Service == "sqs" {
				l.Set(string(driver.Mapping), aws.ToString(m.UUID))
				queueARN = aws.ToString(m.EventSourceArn)
				break
			}
		}
	}
	url, err := d.queueURL(ctx, driver.Queue, queueARN)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	q, err := d.readQueue(ctx, driver.Queue, url, false)
	if err != nil || q == nil {
		return err
	}
	l.Set(string(driver.Queue), url)
	if lastPart(queueARN) != names.Queue {
		l.Set(keyQueueSource, queueARN)
		if k := q.attrs[attrKMSKey]; k != "" {
			key, err := d.keyARN(ctx, k)
			l.Set(keyQueueKMSKey, key)
			return err
		}
		return nil
	}
	topicARN := policyTopic(q.attrs[attrPolicy])
	if topicARN == "" {
		return nil
	}
	sub, err := d.findSubscription(ctx, topicARN, queueARN)
	if err != nil || sub == "" {
		return err
	}
	l.Set(string(driver.Subscription), sub)
	if lastPart(topicARN) == names.Topic {
		l.Set(string(driver.Topic), topicARN)
	} else {
		l.Set(keyTopicSource, topicARN)
	}
	return nil
}

// Check implements driver.Driver: an existing trigger source must exist in the driver's region.
func (d *Driver) Check(ctx context.Context, h *spec.Handler) []spec.Problem {
	src := h.Trigger.Source
	a, ok := parseARN(src)
	if src == "" || !ok {
		return nil // spec.Validate reports a malformed source
	}
	problem := func(warning bool, summary, detail string, args ...any) []spec.Problem {
		return []spec.Problem{{Path: []string{"trigger", "source"}, Warning: warning, Summary: summary, Detail: fmt.Sprintf(detail, args...)}}
	}
	if a.Region != d.region {
		return problem(false, "Trigger source in another region",
			"trigger.source %q lies in %s; the provider creates this handler in %s, and Lambda and SNS subscriptions to SQS work within one region. Use a source in %s or configure the provider for %s.",
			src, a.Region, d.region, d.region, a.Region)
	}
	var err error
	switch a.Service {
	case "sqs":
		_, err = d.queueURL(ctx, driver.Queue, src)
	case "sns":
		_, err = d.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &src})
	}
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return problem(false, "Trigger source not found", "trigger.source %q does not exist: create it first, or leave trigger.source unset to let the provider create one.", src)
	}
	return problem(true, "Trigger source not checked", "Could not check that trigger.source %q exists: %v", src, err)
}
