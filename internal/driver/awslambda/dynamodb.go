package awslambda

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// The dedup table's key and expiry attributes, which the handler runtime library writes.
const (
	dedupKey = "id"
	dedupTTL = "expires_at"
)

// table is a DynamoDB table as the driver makes it: the dedup table (component DedupTable, owned by
// the handler tag) or an app's table (AppTable, owned by the table tag).
type table struct {
	comp  driver.Component
	name  string
	key   string
	owner string // the reserved tag whose value names the table's owner in tags
}

func dedupTable(name string) table {
	return table{comp: driver.DedupTable, name: name, key: dedupKey, owner: HandlerTag}
}

type tableSeen struct {
	arn           string
	key           string
	payPerRequest bool
	// ttlAttr is the attribute TTL is enabled (or being enabled) on; "" when off.
	ttlAttr string
	tags    map[string]string
}

// StoreURL is where the runtime library finds a table: THREEFACTOR_DEDUP_STORE and
// THREEFACTOR_TABLE_* (local runners rebuild them).
func StoreURL(table, region string) string {
	return "dynamodb://" + table + "?region=" + region
}

// createTable creates the on-demand table with the default encryption at rest (an AWS-owned key).
func (d *Driver) createTable(ctx context.Context, t table, tags map[string]string) (string, error) {
	ctx, acted := trackActed(ctx)
	out, err := d.dynamodb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &t.name,
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(t.key), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(t.key), KeyType: ddbtypes.KeyTypeHash}},
		Tags:                 ddbTags(tags),
	})
	if ownRetry(err, acted) {
		if s, rerr := d.readTable(ctx, t.comp, t.name); rerr == nil && s != nil && s.tags[t.owner] == tags[t.owner] {
			return s.arn, d.waitTableActive(ctx, t)
		}
	}
	if err != nil {
		return "", fail(t.comp, "creating", t.name, err)
	}
	arn := aws.ToString(out.TableDescription.TableArn)
	if out.TableDescription.TableStatus == ddbtypes.TableStatusActive {
		return arn, nil
	}
	return arn, d.waitTableActive(ctx, t)
}

// waitTableActive waits out CREATING: UpdateTimeToLive is refused until the table is active.
func (d *Driver) waitTableActive(ctx context.Context, t table) error {
	return fail(t.comp, "waiting for", t.name, plumbing.PollNew(ctx, newResourceGrace, isNotFound, func() (bool, error) {
		out, err := d.dynamodb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &t.name})
		if err != nil {
			return false, err
		}
		return out.Table.TableStatus == ddbtypes.TableStatusActive, nil
	}))
}

// setTTL turns TTL on attr on, or off when on is false. Callers check DescribeTimeToLive first:
// DynamoDB refuses a second UpdateTimeToLive within an hour, even a no-op one.
func (d *Driver) setTTL(ctx context.Context, t table, attr string, on bool) error {
	_, err := d.dynamodb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &t.name,
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(on)},
	})
	return fail(t.comp, "setting the TTL of", t.name, err)
}

// updateTable restores the billing mode, the TTL attribute (ttl, "" for none) and the tags of an
// existing table.
func (d *Driver) updateTable(ctx context.Context, t table, cur *tableSeen, ttl string, tags map[string]string) error {
	if !cur.payPerRequest {
		if _, err := d.dynamodb.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: &t.name, BillingMode: ddbtypes.BillingModePayPerRequest}); err != nil {
			return fail(t.comp, "updating", cur.arn, err)
		}
		if err := d.waitTableActive(ctx, t); err != nil {
			return err
		}
	}
	if cur.ttlAttr != ttl {
		// One attribute at a time: the old one goes off first (DynamoDB allows one change an hour, so
		// moving TTL to another attribute takes two applies an hour apart; the error says so).
		if cur.ttlAttr != "" {
			if err := d.setTTL(ctx, t, cur.ttlAttr, false); err != nil {
				return err
			}
		}
		if ttl != "" {
			if err := d.setTTL(ctx, t, ttl, true); err != nil {
				return err
			}
		}
	}
	err := plumbing.Retag(tags, cur.tags,
		func(keys []string) error {
			_, err := d.dynamodb.UntagResource(ctx, &dynamodb.UntagResourceInput{ResourceArn: &cur.arn, TagKeys: keys})
			return err
		},
		func(set map[string]string) error {
			_, err := d.dynamodb.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: &cur.arn, Tags: ddbTags(set)})
			return err
		})
	return fail(t.comp, "updating", cur.arn, err)
}

// readTable returns nil when the table is gone: DescribeTable, DescribeTimeToLive and the tags.
// id is the table's ARN or name.
func (d *Driver) readTable(ctx context.Context, comp driver.Component, id string) (*tableSeen, error) {
	name := lastPart(id)
	out, err := d.dynamodb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(comp, "reading", id, err)
	}
	t := &tableSeen{arn: aws.ToString(out.Table.TableArn), tags: map[string]string{}}
	if b := out.Table.BillingModeSummary; b != nil {
		t.payPerRequest = b.BillingMode == ddbtypes.BillingModePayPerRequest
	}
	for _, k := range out.Table.KeySchema {
		if k.KeyType == ddbtypes.KeyTypeHash {
			t.key = aws.ToString(k.AttributeName)
		}
	}
	ttl, err := d.dynamodb.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil {
		return nil, fail(comp, "reading the TTL of", id, err)
	}
	if s := ttl.TimeToLiveDescription; s != nil &&
		(s.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled || s.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabling) {
		t.ttlAttr = aws.ToString(s.AttributeName)
	}
	tags, err := d.dynamodb.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: &t.arn})
	if err != nil {
		return nil, fail(comp, "reading the tags of", id, err)
	}
	for _, tag := range tags.Tags {
		t.tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return t, nil
}

func (d *Driver) deleteTable(ctx context.Context, comp driver.Component, arn string) error {
	_, err := d.dynamodb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(lastPart(arn))})
	return fail(comp, "deleting", arn, codes.IgnoreNotFound(err))
}

func ddbTags(m map[string]string) []ddbtypes.Tag {
	var ts []ddbtypes.Tag
	for _, k := range sortedKeys(m) {
		ts = append(ts, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return ts
}
