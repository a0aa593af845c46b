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

type tableSeen struct {
	arn           string
	payPerRequest bool
	// ttlOn: TTL is enabled (or being enabled) on dedupTTL.
	ttlOn bool
	tags  map[string]string
}

// dedupStoreURL is THREEFACTOR_DEDUP_STORE on AWS.
func (d *Driver) dedupStoreURL(table string) string {
	return "dynamodb://" + table + "?region=" + d.region
}

// createTable creates the on-demand table with the default encryption at rest (an AWS-owned key).
func (d *Driver) createTable(ctx context.Context, name string, tags map[string]string) (string, error) {
	ctx, acted := trackActed(ctx)
	out, err := d.dynamodb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &name,
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(dedupKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(dedupKey), KeyType: ddbtypes.KeyTypeHash}},
		Tags:                 ddbTags(tags),
	})
	if ownRetry(err, acted) {
		if t, rerr := d.readTable(ctx, name); rerr == nil && t != nil && t.tags[HandlerTag] == tags[HandlerTag] {
			return t.arn, d.waitTableActive(ctx, name)
		}
	}
	if err != nil {
		return "", fail(driver.DedupTable, "creating", name, err)
	}
	arn := aws.ToString(out.TableDescription.TableArn)
	if out.TableDescription.TableStatus == ddbtypes.TableStatusActive {
		return arn, nil
	}
	return arn, d.waitTableActive(ctx, name)
}

// waitTableActive waits out CREATING: UpdateTimeToLive is refused until the table is active.
func (d *Driver) waitTableActive(ctx context.Context, name string) error {
	return fail(driver.DedupTable, "waiting for", name, plumbing.PollNew(ctx, newResourceGrace, isNotFound, func() (bool, error) {
		out, err := d.dynamodb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
		if err != nil {
			return false, err
		}
		return out.Table.TableStatus == ddbtypes.TableStatusActive, nil
	}))
}

// enableTTL turns TTL on. Callers check DescribeTimeToLive first: DynamoDB refuses a second
// UpdateTimeToLive within an hour, even a no-op one.
func (d *Driver) enableTTL(ctx context.Context, name string) error {
	_, err := d.dynamodb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &name,
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(dedupTTL), Enabled: aws.Bool(true)},
	})
	return fail(driver.DedupTable, "enabling TTL on", name, err)
}

// updateTable restores the billing mode, TTL and tags of an existing table.
func (d *Driver) updateTable(ctx context.Context, cur *tableSeen, tags map[string]string) error {
	name := lastPart(cur.arn)
	if !cur.payPerRequest {
		if _, err := d.dynamodb.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: &name, BillingMode: ddbtypes.BillingModePayPerRequest}); err != nil {
			return fail(driver.DedupTable, "updating", cur.arn, err)
		}
		if err := d.waitTableActive(ctx, name); err != nil {
			return err
		}
	}
	if !cur.ttlOn {
		if err := d.enableTTL(ctx, name); err != nil {
			return err
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
	return fail(driver.DedupTable, "updating", cur.arn, err)
}

// readTable returns nil when the table is gone: DescribeTable, DescribeTimeToLive and the tags.
func (d *Driver) readTable(ctx context.Context, arn string) (*tableSeen, error) {
	name := lastPart(arn)
	out, err := d.dynamodb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.DedupTable, "reading", arn, err)
	}
	t := &tableSeen{arn: aws.ToString(out.Table.TableArn), tags: map[string]string{}}
	if b := out.Table.BillingModeSummary; b != nil {
		t.payPerRequest = b.BillingMode == ddbtypes.BillingModePayPerRequest
	}
	ttl, err := d.dynamodb.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil {
		return nil, fail(driver.DedupTable, "reading the TTL of", arn, err)
	}
	if s := ttl.TimeToLiveDescription; s != nil && aws.ToString(s.AttributeName) == dedupTTL {
		t.ttlOn = s.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled || s.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabling
	}
	tags, err := d.dynamodb.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: &t.arn})
	if err != nil {
		return nil, fail(driver.DedupTable, "reading the tags of", arn, err)
	}
	for _, tag := range tags.Tags {
		t.tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return t, nil
}

func (d *Driver) deleteTable(ctx context.Context, arn string) error {
	_, err := d.dynamodb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(lastPart(arn))})
	return fail(driver.DedupTable, "deleting", arn, codes.IgnoreNotFound(err))
}

func ddbTags(m map[string]string) []ddbtypes.Tag {
	var ts []ddbtypes.Tag
	for _, k := range sortedKeys(m) {
		ts = append(ts, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return ts
}
