package awslambda

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

type logsSeen struct {
	name, arn string
	retention int64
	tags      map[string]string
}

// logGroupName is where Lambda writes the function's logs.
func logGroupName(function string) string { return "/aws/lambda/" + function }

func (d *Driver) logGroupARN(account, name string) string {
	return "arn:" + d.partition + ":logs:" + d.region + ":" + account + ":log-group:" + name
}

// createLogGroup creates the group with its tags. A group of that name that already exists is taken
// over: Lambda itself creates it when the function logs before the provider made it.
func (d *Driver) createLogGroup(ctx context.Context, name string, tags map[string]string) error {
	_, err := d.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &name, Tags: tags})
	if err != nil && codeOf(err) != driver.AlreadyExists {
		return fail(driver.Logs, "creating", name, err)
	}
	return nil
}

func (d *Driver) setLogRetention(ctx context.Context, name string, days int64) error {
	_, err := d.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: &name, RetentionInDays: aws.Int32(int32(days))})
	return fail(driver.Logs, "setting the retention of", name, err)
}

func (d *Driver) tagLogGroup(ctx context.Context, cur *logsSeen, tags map[string]string) error {
	err := plumbing.Retag(tags, cur.tags,
		func(keys []string) error {
			_, err := d.logs.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: &cur.arn, TagKeys: keys})
			return err
		},
		func(set map[string]string) error {
			_, err := d.logs.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: &cur.arn, Tags: set})
			return err
		})
	return fail(driver.Logs, "updating", cur.name, err)
}

// readLogGroup returns nil when the group is gone. DescribeLogGroups lacks tags.
func (d *Driver) readLogGroup(ctx context.Context, name string) (*logsSeen, error) {
	out, err := d.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: &name})
	if err != nil {
		return nil, fail(driver.Logs, "reading", name, err)
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) != name {
			continue
		}
		s := &logsSeen{name: name, arn: aws.ToString(g.LogGroupArn), retention: int64(aws.ToInt32(g.RetentionInDays))}
		tags, err := d.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: &s.arn})
		if ok, err := codes.Exists(err); !ok {
			return nil, fail(driver.Logs, "reading the tags of", name, err)
		}
		s.tags = tags.Tags
		return s, nil
	}
	return nil, nil
}

func (d *Driver) deleteLogGroup(ctx context.Context, name string) error {
	_, err := d.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: &name})
	return fail(driver.Logs, "deleting", name, codes.IgnoreNotFound(err))
}
