// Package awstest is the drivertest.Harness of the AWS driver on moto, shared by the driver's
// conformance tests and the provider's acceptance tests.
package awstest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Region is where the harness's driver and clients work.
const Region = "us-east-1"

// New returns a harness on s: a driver that reaches moto through the counting, fault-injecting
// proxy, and clients that reach it directly for what tests do behind the driver's back.
func New(ctx context.Context, s *moto.Server) (*Harness, error) {
	d, err := awslambda.New(ctx, awslambda.Config{Region: Region, Endpoint: s.URL, Credentials: moto.Credentials, MaxRetries: 2})
	if err != nil {
		return nil, err
	}
	return &Harness{S: s, D: d, C: Direct(s), sources: map[string]bool{}}, nil
}

// Clients reach moto directly.
type Clients struct {
	IAM      *iam.Client
	Logs     *cloudwatchlogs.Client
	Lambda   *lambda.Client
	SQS      *sqs.Client
	SNS      *sns.Client
	DynamoDB *dynamodb.Client
}

// Direct returns clients of s that bypass the proxy.
func Direct(s *moto.Server) Clients {
	cfg := aws.Config{Region: Region, Credentials: moto.Credentials, BaseEndpoint: aws.String(s.Direct)}
	return Clients{
		IAM: iam.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg), Lambda: lambda.NewFromConfig(cfg),
		SQS: sqs.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg), DynamoDB: dynamodb.NewFromConfig(cfg),
	}
}

// Code is a minimal nodejs package.
var Code = func() *driver.Code {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.js")
	_, _ = w.Write([]byte("exports.handler = async () => ({ batchItemFailures: [] });\n"))
	_ = zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return &driver.Code{Zip: buf.Bytes(), Hash: hex.EncodeToString(sum[:])}
}()

// Harness is the drivertest.Harness of the AWS driver.
type Harness struct {
	S       *moto.Server
	D       *awslambda.Driver
	C       Clients
	sources map[string]bool // queue URLs and topic ARNs made by ExistingSource
}

func (h *Harness) Driver() driver.Driver { return h.D }
func (h *Harness) Cloud() *driver.Cloud  { return awslambda.Cloud }
func (h *Harness) Code() *driver.Code    { return Code }
func (h *Harness) Close()                {}

// Pause disables the handler's event source mapping behind the driver's back.
func (h *Harness) Pause(ctx context.Context, st driver.State) error {
	_, err := h.C.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(st.Get(driver.Mapping)), Enabled: aws.Bool(false)})
	return err
}

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

func (h *Harness) FailCreate(c driver.Component) { h.S.Fail(createActions[c]) }

// LoseCreateResponse makes the next create of component c take effect in moto while its response
// is lost: the SDK sees a dropped connection and retries. It returns the call's name as moto.Server's
// Calls counts it ("iam:CreateRole").
func (h *Harness) LoseCreateResponse(c driver.Component) string {
	f := createActions[c]
	f.LoseResponse = true
	h.S.Fail(f)
	return f.Service + ":" + f.Action
}

func (h *Harness) Remove(ctx context.Context, st driver.State, c driver.Component) error {
	id := st.Get(c)
	var err error
	switch c {
	case driver.Identity:
		name := id[strings.LastIndex(id, "/")+1:]
		_, _ = h.C.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &name, PolicyName: aws.String("threefactor")})
		_, err = h.C.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &name})
	case driver.Logs:
		_, err = h.C.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: &id})
	case driver.Function:
		_, err = h.C.Lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: &id})
	case driver.Mapping:
		_, err = h.C.Lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: &id})
	case driver.Queue, driver.DeadLetter:
		_, err = h.C.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &id})
	case driver.Topic:
		_, err = h.C.SNS.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &id})
	case driver.Subscription:
		_, err = h.C.SNS.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: &id})
	case driver.DedupTable:
		_, err = h.C.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(id[strings.LastIndex(id, "/")+1:])})
	default:
		err = fmt.Errorf("unknown component %s", c)
	}
	return err
}

func (h *Harness) Leftovers(ctx context.Context) ([]string, error) {
	var left []string
	add := func(kind string, ids ...string) {
		for _, id := range ids {
			if !h.sources[id] {
				left = append(left, kind+" "+id)
			}
		}
	}
	roles, err := h.C.IAM.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		return nil, err
	}
	for _, r := range roles.Roles {
		add("role", aws.ToString(r.RoleName))
	}
	fns, err := h.C.Lambda.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		return nil, err
	}
	for _, f := range fns.Functions {
		add("function", aws.ToString(f.FunctionName))
	}
	esms, err := h.C.Lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
	if err != nil {
		return nil, err
	}
	for _, m := range esms.EventSourceMappings {
		add("mapping", aws.ToString(m.UUID))
	}
	queues, err := h.C.SQS.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil {
		return nil, err
	}
	add("queue", queues.QueueUrls...)
	topics, err := h.C.SNS.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil {
		return nil, err
	}
	for _, tp := range topics.Topics {
		add("topic", aws.ToString(tp.TopicArn))
	}
	subs, err := h.C.SNS.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
	if err != nil {
		return nil, err
	}
	for _, s := range subs.Subscriptions {
		add("subscription", aws.ToString(s.SubscriptionArn))
	}
	tables, err := h.C.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		return nil, err
	}
	add("table", tables.TableNames...)
	groups, err := h.C.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
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
func (h *Harness) ExistingSource(ctx context.Context, kind spec.TriggerKind) (string, error) {
	name := "existing-" + string(kind)
	if kind == spec.Topic {
		out, err := h.C.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: &name})
		if err != nil {
			return "", err
		}
		h.sources[aws.ToString(out.TopicArn)] = true
		return aws.ToString(out.TopicArn), nil
	}
	out, err := h.C.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: map[string]string{"VisibilityTimeout": "45"}})
	if err != nil {
		return "", err
	}
	attrs, err := h.C.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", err
	}
	h.sources[aws.ToString(out.QueueUrl)] = true
	return attrs.Attributes["QueueArn"], nil
}

// PutItem writes an item into a table, as a handler would.
func (h *Harness) PutItem(ctx context.Context, tableID, key string) error {
	name := tableID[strings.LastIndex(tableID, "/")+1:]
	_, err := h.C.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &name,
		Item: map[string]ddbtypes.AttributeValue{spec.DefaultTableKey: &ddbtypes.AttributeValueMemberS{Value: key}}})
	return err
}
