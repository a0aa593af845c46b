package moto

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

func TestLambdaAction(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"POST", "/2015-03-31/functions", "CreateFunction"},
		{"GET", "/2015-03-31/functions/", "ListFunctions"},
		{"GET", "/2015-03-31/functions/orders", "GetFunction"},
		{"DELETE", "/2015-03-31/functions/orders", "DeleteFunction"},
		{"GET", "/2015-03-31/functions/orders/configuration", "GetFunctionConfiguration"},
		{"PUT", "/2015-03-31/functions/orders/configuration", "UpdateFunctionConfiguration"},
		{"PUT", "/2015-03-31/functions/orders/code", "UpdateFunctionCode"},
		{"POST", "/2015-03-31/event-source-mappings", "CreateEventSourceMapping"},
		{"GET", "/2015-03-31/event-source-mappings/", "ListEventSourceMappings"},
		{"GET", "/2015-03-31/event-source-mappings/abc", "GetEventSourceMapping"},
		{"PUT", "/2015-03-31/event-source-mappings/abc", "UpdateEventSourceMapping"},
		{"DELETE", "/2015-03-31/event-source-mappings/abc", "DeleteEventSourceMapping"},
		{"GET", "/2017-03-31/tags/arn%3Aaws%3Alambda", "ListTags"},
		{"POST", "/2017-03-31/tags/arn%3Aaws%3Alambda", "TagResource"},
	} {
		if got := lambdaAction(c.method, c.path); got != c.want {
			t.Errorf("lambdaAction(%s %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

// TestFaults: an injected fault reaches the SDK as the API error asked for, in each protocol's shape,
// only for the matching requests and only as many times as asked; every request is counted.
func TestFaults(t *testing.T) {
	s := Require(t)
	ctx := context.Background()
	cfg := s.Config("us-east-1")
	q, im := sqs.NewFromConfig(cfg), iam.NewFromConfig(cfg)

	s.Fail(Fault{Service: "sqs", Action: "CreateQueue", Match: "--dlq", Code: "QueueNameExists", Message: "taken"})
	s.Fail(Fault{Service: "iam", Action: "CreateRole", Times: 2})
	if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("a--queue")}); err != nil {
		t.Errorf("CreateQueue of a queue the fault does not match: %v", err)
	}
	_, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("a--dlq")})
	if code := apiCode(err); code != "QueueNameExists" {
		t.Errorf("CreateQueue: error %v, want QueueNameExists", err)
	}
	if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("a--dlq")}); err != nil {
		t.Errorf("CreateQueue after the fault was spent: %v", err)
	}
	role := &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}
	for range 2 {
		if _, err := im.CreateRole(ctx, role); apiCode(err) != "InjectedFault" {
			t.Errorf("CreateRole: error %v, want InjectedFault", err)
		}
	}
	if _, err := im.CreateRole(ctx, role); err != nil {
		t.Errorf("CreateRole after two faults: %v", err)
	}
	if got := s.Calls(); got["sqs:CreateQueue"] != 3 || got["iam:CreateRole"] != 3 {
		t.Errorf("Calls = %v", got)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := s.Calls(); len(got) != 0 {
		t.Errorf("Calls after Reset = %v", got)
	}
	out, err := q.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil || len(out.QueueUrls) != 0 {
		t.Errorf("queues after Reset: %v, %v", out, err)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
