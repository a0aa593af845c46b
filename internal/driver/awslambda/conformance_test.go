package awslambda_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

func TestConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		s := emulator(t)
		return &harness{s: s, d: newDriver(t, s), c: direct(s), sources: map[string]bool{}}, nil
	})
}

type harness struct {
	s       *moto.Server
	d       *awslambda.Driver
	c       clients
	sources map[string]bool // queue URLs and topic ARNs made by ExistingSource
}

func (h *harness) Driver() driver.Driver { return h.d }
func (h *harness) Cloud() spec.Cloud     { return spec.AWS }
func (h *harness) Code() *driver.Code    { return testCode }
func (h *harness) Close()                {}

// createActions is the API action that creates each component, and a string its request contains.
var createActions = map[driver.Component]moto.Fault{
	driver.Identity:     {Service: "iam", Action: "CreateRole"},
	driver.Logs:         {Service: "logs", Action: "CreateLogGroup"},
	driver.DeadLetter:   {Service: "sqs", Action: "CreateQueue", Match: "--dlq"},
	driver.Queue:        {Service: "sqs", Action: "CreateQueue", Match: "--queue"},
	driver.DedupTable:   {Service: "dynamodb", Action: "CreateTable"},
	driver.Topic:        {Service: "sns", Action: "CreateTopic"},
	driver.Subscription: {Service: "sns", Action: "Subscribe"},
	driver.Function:     {Service: "lambda", Action: "CreateFunction"},
	driver.Mapping:      {Service: "lambda", Action: "CreateEventSourceMapping"},
}

func (h *harness) FailCreate(c driver.Component) { h.s.Fail(createActions[c]) }

func (h *harness) Remove(ctx context.Context, st driver.State, c driver.Component) error {
	id := st.Get(c)
	var err error
	switch c {
	case driver.Identity:
		name := id[strings.LastIndex(id, "/")+1:]
		_, _ = h.c.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &name, PolicyName: aws.String("threefactor")})
		_, err = h.c.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &name})
	case driver.Logs:
		_, err = h.c.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: &id})
	case driver.Function:
		_, err = h.c.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: &id})
	case driver.Mapping:
		_, err = h.c.lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: &id})
	case driver.Queue, driver.DeadLetter:
		_, err = h.c.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &id})
	case driver.Topic:
		_, err = h.c.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &id})
	case driver.Subscription:
		_, err = h.c.sns.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: &id})
	case driver.DedupTable:
		_, err = h.c.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(id[strings.LastIndex(id, "/")+1:])})
	default:
		err = fmt.Errorf("unknown component %s", c)
	}
	return err
}

func (h *harness) Leftovers(ctx context.Context) ([]string, error) {
	var left []string
	add := func(kind string, ids ...string) {
		for _, id := range ids {
			if !h.sources[id] {
				left = append(left, kind+" "+id)
			}
		}
	}
	roles, err := h.c.iam.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		return nil, err
	}
	for _, r := range roles.Roles {
		add("role", aws.ToString(r.RoleName))
	}
	fns, err := h.c.lambda.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		return nil, err
	}
	for _, f := range fns.Functions {
		add("function", aws.ToString(f.FunctionName))
	}
	esms, err := h.c.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
	if err != nil {
		return nil, err
	}
	for _, m := range esms.EventSourceMappings {
		add("mapping", aws.ToString(m.UUID))
	}
	queues, err := h.c.sqs.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil {
		return nil, err
	}
	add("queue", queues.QueueUrls...)
	topics, err := h.c.sns.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil {
		return nil, err
	}
	for _, tp := range topics.Topics {
		add("topic", aws.ToString(tp.TopicArn))
	}
	subs, err := h.c.sns.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
	if err != nil {
		return nil, err
	}
	for _, s := range subs.Subscriptions {
		add("subscription", aws.ToString(s.SubscriptionArn))
	}
	tables, err := h.c.ddb.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		return nil, err
	}
	add("table", tables.TableNames...)
	groups, err := h.c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		return nil, err
	}
	for _, g := range groups.LogGroups {
		add("log group", aws.ToString(g.LogGroupName))
	}
	slices.Sort(left)
	return left, nil
}

// ExistingSource makes a queue with settings of its own (visibility 45 s, no redrive policy), or a
// topic, as another team would own them.
func (h *harness) ExistingSource(ctx context.Context, kind spec.TriggerKind) (string, error) {
	name := "existing-" + string(kind)
	if kind == spec.Topic {
		out, err := h.c.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: &name})
		if err != nil {
			return "", err
		}
		h.sources[aws.ToString(out.TopicArn)] = true
		return aws.ToString(out.TopicArn), nil
	}
	out, err := h.c.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: map[string]string{"VisibilityTimeout": "45"}})
	if err != nil {
		return "", err
	}
	attrs, err := h.c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", err
	}
	h.sources[aws.ToString(out.QueueUrl)] = true
	return attrs.Attributes["QueueArn"], nil
}
