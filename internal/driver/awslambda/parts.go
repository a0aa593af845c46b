package awslambda

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// TopicTag and TableTag name, on an app's topic or table, the threefactor_topic or threefactor_table
// it belongs to: SNS answers a CreateTopic of an existing name with that topic, and only one that
// carries the tag is the provider's.
const (
	TopicTag = TagPrefix + "topic"
	TableTag = TagPrefix + "table"
)

var _ driver.Parts = (*Driver)(nil)

// Topics implements driver.Parts: SNS standard topics, encrypted with the AWS-managed key.
func (d *Driver) Topics() driver.Part[spec.AppTopic] { return topics{d} }

// Tables implements driver.Parts: on-demand DynamoDB tables with a string partition key.
func (d *Driver) Tables() driver.Part[spec.AppTable] { return tables{d} }

// partTags are a part's tags: the user's and the reserved one naming the part.
func partTags(user map[string]string, key, name string) map[string]string {
	t := maps.Clone(user)
	if t == nil {
		t = map[string]string{}
	}
	t[key] = name
	return t
}

// userTagsOf drops the provider's reserved tags (nil when none is left).
func userTagsOf(tags map[string]string) map[string]string {
	var out map[string]string
	for k, v := range tags {
		if !strings.HasPrefix(k, TagPrefix) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

type topics struct{ d *Driver }

func (p topics) Apply(ctx context.Context, t *spec.AppTopic, id string) (string, error) {
	d, tags := p.d, partTags(t.Tags, TopicTag, t.Name)
	if id != "" {
		cur, err := d.readTopic(ctx, driver.AppTopic, id)
		if err != nil || cur != nil {
			if err == nil {
				err = d.updateTopic(ctx, driver.AppTopic, cur, tags)
			}
			return id, err
		}
	}
	arn, err := d.createTopic(ctx, driver.AppTopic, t.Name, tags)
	if err != nil {
		return "", err
	}
	cur, err := d.readTopic(ctx, driver.AppTopic, arn)
	switch {
	case err != nil:
		return "", err // CreateTopic is idempotent: applying again finds the topic
	case cur == nil || cur.tags[TopicTag] != t.Name:
		return "", driver.Errorf(driver.AppTopic, "creating", t.Name, driver.AlreadyExists, fmt.Errorf(
			"a topic named %q exists and belongs to no threefactor_topic: choose another name, or import it (%s) to manage it", t.Name, d.ImportID(t.Name)))
	}
	return arn, nil
}

func (p topics) Read(ctx context.Context, id string) (*driver.ObservedPart[spec.AppTopic], error) {
	cur, err := p.d.readTopic(ctx, driver.AppTopic, id)
	if err != nil || cur == nil {
		return nil, err
	}
	return &driver.ObservedPart[spec.AppTopic]{
		Spec:      spec.AppTopic{Name: lastPart(id), Cloud: Name, Tags: userTagsOf(cur.tags)},
		Encrypted: cur.encrypted, ID: id, Target: id,
	}, nil
}

// Delete refuses while the topic has subscriptions: SNS deletes them with it, and the handlers of
// other configurations behind them would stop receiving events without a word.
func (p topics) Delete(ctx context.Context, id string, force bool) error {
	d := p.d
	if !force {
		var subs []string
		pages := sns.NewListSubscriptionsByTopicPaginator(d.sns, &sns.ListSubscriptionsByTopicInput{TopicArn: &id})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return fail(driver.AppTopic, "listing the subscriptions of", id, err)
			}
			for _, s := range page.Subscriptions {
				subs = append(subs, aws.ToString(s.Protocol)+" "+aws.ToString(s.Endpoint))
			}
		}
		if len(subs) > 0 {
			return driver.Errorf(driver.AppTopic, "deleting", id, driver.FailedPrecondition, fmt.Errorf(
				"it still has %d subscription(s) this configuration does not manage (%s): deleting the topic deletes them, and their handlers "+
					"would silently stop receiving events. Remove those subscribers first, or set force_destroy = true", len(subs), strings.Join(subs, ", ")))
		}
	}
	return d.deleteTopic(ctx, driver.AppTopic, id)
}

func (p topics) Locate(ctx context.Context, name string) (string, error) {
	pages := sns.NewListTopicsPaginator(p.d.sns, &sns.ListTopicsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", fail(driver.AppTopic, "finding", name, err)
		}
		for _, t := range page.Topics {
			if arn := aws.ToString(t.TopicArn); lastPart(arn) == name {
				return arn, nil
			}
		}
	}
	return "", driver.Errorf(driver.AppTopic, "finding", name, driver.NotFound, errors.New("no topic of that name in "+p.d.region))
}

func (p topics) ImportID(name string) string { return p.d.ImportID(name) }

type tables struct{ d *Driver }

func appTable(t *spec.AppTable) table {
	return table{comp: driver.AppTable, name: t.Name, key: t.Key, owner: TableTag}
}

func (p tables) Apply(ctx context.Context, t *spec.AppTable, id string) (string, error) {
	d, tb, tags := p.d, appTable(t), partTags(t.Tags, TableTag, t.Name)
	if id != "" {
		cur, err := d.readTable(ctx, driver.AppTable, id)
		if err != nil {
			return id, err
		}
		if cur != nil {
			if cur.key != t.Key {
				return id, driver.Errorf(driver.AppTable, "updating", id, driver.InvalidArgument,
					fmt.Errorf("its key is %q, not %q: a table's key cannot change in place", cur.key, t.Key))
			}
			return id, d.updateTable(ctx, tb, cur, t.TTLAttribute, tags)
		}
	}
	arn, err := d.createTable(ctx, tb, tags)
	if err != nil {
		return arn, err
	}
	if t.TTLAttribute != "" {
		err = d.setTTL(ctx, tb, t.TTLAttribute, true)
	}
	return arn, err
}

func (p tables) Read(ctx context.Context, id string) (*driver.ObservedPart[spec.AppTable], error) {
	cur, err := p.d.readTable(ctx, driver.AppTable, id)
	if err != nil || cur == nil {
		return nil, err
	}
	return &driver.ObservedPart[spec.AppTable]{
		Spec: spec.AppTable{Name: lastPart(id), Cloud: Name, Key: cur.key, TTLAttribute: cur.ttlAttr, Tags: userTagsOf(cur.tags)},
		// DynamoDB encrypts every table at rest (an AWS-owned key unless another is chosen).
		Encrypted: true, ID: cur.arn,
	}, nil
}

// Delete refuses while the table holds items (one Scan of one item tells), then waits until the
// table is gone: a table of the same name cannot be created while the old one is deleting.
func (p tables) Delete(ctx context.Context, id string, force bool) error {
	d, name := p.d, lastPart(id)
	if !force {
		out, err := d.dynamodb.Scan(ctx, &dynamodb.ScanInput{TableName: &name, Limit: aws.Int32(1)})
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return fail(driver.AppTable, "checking for items in", id, err)
		}
		if out.Count > 0 {
			return driver.Errorf(driver.AppTable, "deleting", id, driver.FailedPrecondition, errors.New(
				"it holds items, which would be lost: empty it first, or set force_destroy = true to delete them with it"))
		}
	}
	if err := d.deleteTable(ctx, driver.AppTable, id); err != nil {
		return err
	}
	return fail(driver.AppTable, "waiting for the deletion of", id, plumbing.Poll(ctx, func() (bool, error) {
		_, err := d.dynamodb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
		return isNotFound(err), codes.IgnoreNotFound(err)
	}))
}

func (p tables) Locate(ctx context.Context, name string) (string, error) {
	out, err := p.d.dynamodb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		return "", fail(driver.AppTable, "finding", name, err)
	}
	return aws.ToString(out.Table.TableArn), nil
}

func (p tables) ImportID(name string) string { return p.d.ImportID(name) }
