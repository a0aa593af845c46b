package awslambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda/awstest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

func handler(name string, kind spec.TriggerKind) *spec.Handler {
	h := drivertest.Handler(name, awslambda.Cloud)
	h.Trigger.Kind = kind
	h.Function.SourceHash = awstest.Code.Hash
	return h
}

func mustApply(t *testing.T, d driver.Driver, h *spec.Handler, st driver.State) driver.State {
	t.Helper()
	st, _, err := d.Apply(context.Background(), h, awstest.Code, st)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return st
}

func mustRead(t *testing.T, d driver.Driver, st driver.State) *driver.Observed {
	t.Helper()
	obs, err := d.Read(context.Background(), st)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return obs
}

func total(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}

type policyDoc struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal map[string]string
		Action    []string
		Resource  []string
	}
}

func parsePolicy(t *testing.T, doc string) policyDoc {
	t.Helper()
	if d, err := url.QueryUnescape(doc); err == nil && strings.HasPrefix(doc, "%7B") {
		doc = d
	}
	var p policyDoc
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy %s: %v", doc, err)
	}
	return p
}

// TestRolePolicyReadBack reads the role's trust and inline policies back from the emulator.
func TestRolePolicyReadBack(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	st := mustApply(t, d, handler("orders", spec.Queue), nil)

	role := "orders--" + region
	if !strings.HasSuffix(st.Get(driver.Identity), ":role/"+role) {
		t.Errorf("role ARN %s does not name the role %s", st.Get(driver.Identity), role)
	}
	r, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: &role})
	if err != nil {
		t.Fatal(err)
	}
	trust := parsePolicy(t, aws.ToString(r.Role.AssumeRolePolicyDocument))
	if len(trust.Statement) != 1 || trust.Statement[0].Principal["Service"] != "lambda.amazonaws.com" || !slices.Equal(trust.Statement[0].Action, []string{"sts:AssumeRole"}) {
		t.Errorf("trust policy %+v, want lambda.amazonaws.com allowed sts:AssumeRole only", trust)
	}
	names, err := c.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: &role})
	if err != nil {
		t.Fatal(err)
	}
	attached, err := c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &role})
	if err != nil {
		t.Fatal(err)
	}
	if len(names.PolicyNames) != 1 || len(attached.AttachedPolicies) != 0 {
		t.Fatalf("role has inline policies %v and managed ones %v, want one inline policy", names.PolicyNames, attached.AttachedPolicies)
	}
	p, err := c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &role, PolicyName: &names.PolicyNames[0]})
	if err != nil {
		t.Fatal(err)
	}
	acct := "arn:aws:%s:" + region + ":" + moto.Account + ":"
	arn := func(service, rest string) string { return strings.Replace(acct, "%s", service, 1) + rest }
	want := map[string][2][]string{
		"Logs":  {{"logs:CreateLogStream", "logs:PutLogEvents"}, {arn("logs", "log-group:/aws/lambda/orders:*")}},
		"Queue": {{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}, {arn("sqs", "orders--queue")}},
		"Dedup": {{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}, {arn("dynamodb", "table/orders--dedup")}},
	}
	got := map[string][2][]string{}
	for _, s := range parsePolicy(t, aws.ToString(p.PolicyDocument)).Statement {
		if s.Effect != "Allow" {
			t.Errorf("statement %s: effect %s", s.Sid, s.Effect)
		}
		got[s.Sid] = [2][]string{s.Action, s.Resource}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("role policy (-want +got):\n%s", diff)
	}
}

// TestAdoptedKMSQueue: the role may decrypt with the key of an adopted KMS-encrypted queue, by ARN
// although the queue names it by alias; Delete restores the queue's own settings and keeps it.
func TestAdoptedKMSQueue(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	k := kms.NewFromConfig(aws.Config{Region: region, Credentials: moto.Credentials, BaseEndpoint: aws.String(s.Direct)})
	key, err := k.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/orders"), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("their-dlq")}); err != nil {
		t.Fatal(err)
	}
	prevRedrive := `{"deadLetterTargetArn":"arn:aws:sqs:` + region + `:` + moto.Account + `:their-dlq","maxReceiveCount":3}`
	theirPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + moto.Account + `:root"},"Action":"sqs:SendMessage","Resource":"*"}]}`
	q, err := c.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("theirs"), Attributes: map[string]string{
		"VisibilityTimeout": "45", "KmsMasterKeyId": "alias/orders", "RedrivePolicy": prevRedrive, "Policy": theirPolicy,
	}})
	if err != nil {
		t.Fatal(err)
	}
	source := "arn:aws:sqs:" + region + ":" + moto.Account + ":theirs"

	h := handler("adopter", spec.Queue)
	h.Trigger.Source = source
	st := mustApply(t, d, h, nil)

	p, err := c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("adopter--" + region), PolicyName: aws.String("threefactor")})
	if err != nil {
		t.Fatal(err)
	}
	var keyStatement []string
	for _, s := range parsePolicy(t, aws.ToString(p.PolicyDocument)).Statement {
		if slices.Contains(s.Action, "kms:Decrypt") {
			keyStatement = s.Resource
		}
	}
	if !slices.Equal(keyStatement, []string{aws.ToString(key.KeyMetadata.Arn)}) {
		t.Errorf("kms:Decrypt granted on %v, want the key's ARN %s", keyStatement, aws.ToString(key.KeyMetadata.Arn))
	}
	attrs := queueAttrs(t, c, aws.ToString(q.QueueUrl))
	if attrs["VisibilityTimeout"] != "180" || !strings.Contains(attrs["RedrivePolicy"], "adopter--dlq") || attrs["Policy"] == "" {
		t.Errorf("adopted queue attributes %v: want visibility 180, redrive to adopter--dlq, its policy kept", attrs)
	}
	checkLocate(t, d, "adopter", st, keyQueueKeys...)

	if left, err := d.Delete(ctx, st); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
	attrs = queueAttrs(t, c, aws.ToString(q.QueueUrl))
	var redrive map[string]any
	_ = json.Unmarshal([]byte(attrs["RedrivePolicy"]), &redrive)
	if attrs["VisibilityTimeout"] != "45" || redrive["deadLetterTargetArn"] != "arn:aws:sqs:"+region+":"+moto.Account+":their-dlq" || attrs["Policy"] == "" {
		t.Errorf("after Delete the adopted queue has %v, want its visibility 45, its redrive policy and its policy back", attrs)
	}
}

// keyQueueKeys are the private keys Locate can recover for an adopted queue (not its prior settings).
var keyQueueKeys = []string{"queue_source", "queue_kms_key"}

// checkLocate compares Locate's state with Apply's: every component and the private keys named.
func checkLocate(t *testing.T, d driver.Driver, name string, st driver.State, keys ...string) {
	t.Helper()
	got, err := d.Locate(context.Background(), name)
	if err != nil {
		t.Fatalf("Locate: %v", err)
	}
	want := driver.State{}
	for _, c := range awslambda.Cloud.Order() {
		if st.Has(c) {
			want[string(c)] = st.Get(c)
		}
	}
	for _, k := range keys {
		if st[k] != "" {
			want[k] = st[k]
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Locate (-want +got):\n%s", diff)
	}
}

func queueAttrs(t *testing.T, c awstest.Clients, u string) map[string]string {
	t.Helper()
	out, err := c.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &u, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes
}

// TestExistingTopic: the handler's queue subscribes to a topic it does not own; Locate finds the
// subscription through the queue's policy, and Delete leaves the topic.
func TestExistingTopic(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	topic, err := c.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("theirs")})
	if err != nil {
		t.Fatal(err)
	}
	h := handler("fan", spec.Topic)
	h.Trigger.Source = aws.ToString(topic.TopicArn)
	st := mustApply(t, d, h, nil)
	if st.Has(driver.Topic) || !strings.HasPrefix(st.Get(driver.Subscription), h.Trigger.Source+":") {
		t.Errorf("state %v: want a subscription to %s and no topic component", st, h.Trigger.Source)
	}
	attrs := queueAttrs(t, c, st.Get(driver.Queue))
	if !strings.Contains(attrs["Policy"], h.Trigger.Source) {
		t.Errorf("queue policy %s does not admit the topic", attrs["Policy"])
	}
	checkLocate(t, d, "fan", st, "topic_source")
	if left, err := d.Delete(ctx, st); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
	if _, err := c.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: topic.TopicArn}); err != nil {
		t.Errorf("the existing topic is gone after Delete: %v", err)
	}
}

// TestCallBudget counts API calls through the proxy: a refresh reads each component once, plus its
// tags where that read lacks them.
func TestCallBudget(t *testing.T) {
	s := emulator(t)
	d := newDriver(t, s)
	for kind, budget := range map[spec.TriggerKind]int{spec.Queue: 14, spec.Topic: 17} {
		s.ResetCalls()
		start := time.Now()
		st := mustApply(t, d, handler("budget-"+string(kind), kind), nil)
		took := time.Since(start)
		created := s.Calls()
		s.ResetCalls()
		mustRead(t, d, st)
		read := s.Calls()
		s.ResetCalls()
		mustApply(t, d, handler("budget-"+string(kind), kind), st)
		noop := s.Calls()
		t.Logf("%s handler: create %d calls in %v %v; refresh %d calls %v; apply without changes %d calls", kind, total(created), took.Round(time.Millisecond), created, total(read), read, total(noop))
		if total(read) > budget {
			t.Errorf("%s: refresh made %d calls, budget %d: %v", kind, total(read), budget, read)
		}
		for call, n := range read {
			if n > 1 && call != "sqs:GetQueueAttributes" && call != "sqs:ListQueueTags" {
				t.Errorf("%s: refresh called %s %d times", kind, call, n)
			}
		}
		if !cmp.Equal(noop, read) {
			t.Errorf("%s: Apply of an unchanged handler made %v, want only the refresh's reads %v", kind, noop, read)
		}
	}
}

// TestCreateOrder checks the dependencies Apply respects, from the order the emulator saw the calls.
func TestCreateOrder(t *testing.T) {
	s := emulator(t)
	d := newDriver(t, s)
	mustApply(t, d, handler("order", spec.Topic), nil)
	log := s.Requests()
	first := func(call string, nth int) int {
		for i, c := range log {
			if c == call {
				if nth == 0 {
					return i
				}
				nth--
			}
		}
		t.Fatalf("%s #%d not called: %v", call, nth, log)
		return -1
	}
	for _, c := range []struct{ before, after string }{
		{"iam:CreateRole", "lambda:CreateFunction"},
		{"logs:CreateLogGroup", "lambda:CreateFunction"},
		{"logs:PutRetentionPolicy", "lambda:CreateFunction"},
		{"sqs:CreateQueue", "lambda:CreateEventSourceMapping"},
		{"sns:CreateTopic", "sns:Subscribe"},
		{"iam:PutRolePolicy", "lambda:CreateEventSourceMapping"},
		{"lambda:CreateFunction", "lambda:CreateEventSourceMapping"},
		{"dynamodb:CreateTable", "dynamodb:UpdateTimeToLive"},
	} {
		if first(c.before, 0) > first(c.after, 0) {
			t.Errorf("%s after %s: %v", c.before, c.after, log)
		}
	}
	// The dead-letter queue is the first queue made; the source queue, which names it, comes after
	// every independent component.
	if q := first("sqs:CreateQueue", 1); q < first("iam:CreateRole", 0) || q < first("dynamodb:CreateTable", 0) || q < first("sns:CreateTopic", 0) {
		t.Errorf("source queue created before the independent components: %v", log)
	}
}

// TestDeterministicOrder: Missing and Drifted follow the creation order whatever order the concurrent
// reads finish in.
func TestDeterministicOrder(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	st := mustApply(t, d, handler("det", spec.Topic), nil)
	h := harness(t, s)
	for _, comp := range []driver.Component{driver.Mapping, driver.DedupTable, driver.Logs, driver.Subscription} {
		if err := h.Remove(ctx, st, comp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SQS.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(st.Get(driver.DeadLetter)), Tags: map[string]string{"x": "y"}}); err != nil {
		t.Fatal(err)
	}
	want := []driver.Component{driver.Logs, driver.DedupTable, driver.Subscription, driver.Mapping}
	for range 5 {
		obs := mustRead(t, d, st)
		if !slices.Equal(obs.Missing, want) {
			t.Fatalf("Missing = %v, want %v", obs.Missing, want)
		}
		if !slices.Equal(obs.Drifted, []driver.Component{driver.DeadLetter}) {
			t.Fatalf("Drifted = %v, want [dead_letter]", obs.Drifted)
		}
	}
}

// TestDriftDetected changes settings behind the driver's back: those the handler shows come back in
// Observed.Handler, the others mark the component Drifted, and Apply puts all of them right.
func TestDriftDetected(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	want := handler("drifty", spec.Topic)
	st := mustApply(t, d, want, nil)
	role := aws.String("drifty--" + region)
	tableName := aws.String("drifty--dedup")

	for _, step := range []struct {
		name    string
		change  func() error
		drifted []driver.Component
		check   func(*spec.Handler) bool
	}{
		{"role policy", func() error {
			_, err := c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("threefactor"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}`)})
			return err
		}, []driver.Component{driver.Identity}, nil},
		{"redrive target", func() error {
			_, err := c.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(st.Get(driver.Queue)), Attributes: map[string]string{
				"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:` + region + `:` + moto.Account + `:drifty--queue","maxReceiveCount":9}`,
			}})
			return err
		}, []driver.Component{driver.Queue}, func(h *spec.Handler) bool { return h.Retry.MaxAttempts == 9 }},
		{"TTL", func() error {
			_, err := c.DynamoDB.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: tableName,
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expires_at"), Enabled: aws.Bool(false)}})
			return err
		}, []driver.Component{driver.DedupTable}, nil},
		{"raw delivery", func() error {
			_, err := c.SNS.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(st.Get(driver.Subscription)),
				AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("false")})
			return err
		}, []driver.Component{driver.Subscription}, nil},
		{"topic encryption off", func() error {
			_, err := c.SNS.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(st.Get(driver.Topic)),
				AttributeName: aws.String("KmsMasterKeyId"), AttributeValue: aws.String("")})
			return err
		}, []driver.Component{driver.Topic}, nil},
		{"filter policy", func() error {
			_, err := c.SNS.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(st.Get(driver.Subscription)),
				AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String(`{"type":["order.paid"]}`)})
			return err
		}, nil, func(h *spec.Handler) bool { return slices.Equal(h.Trigger.Filter["type"], []string{"order.paid"}) }},
		{"memory", func() error {
			_, err := c.Lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("drifty"), MemorySize: aws.Int32(1024)})
			return err
		}, nil, func(h *spec.Handler) bool { return h.Function.MemoryMB == 1024 }},
		{"table tags", func() error {
			_, err := c.DynamoDB.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: aws.String(st.Get(driver.DedupTable)),
				Tags: []ddbtypes.Tag{{Key: aws.String("team"), Value: aws.String("intruders")}}})
			return err
		}, []driver.Component{driver.DedupTable}, nil},
	} {
		t.Run(step.name, func(t *testing.T) {
			if err := step.change(); err != nil {
				t.Fatal(err)
			}
			obs := mustRead(t, d, st)
			if !slices.Equal(obs.Drifted, step.drifted) {
				t.Errorf("Drifted = %v, want %v", obs.Drifted, step.drifted)
			}
			if step.check != nil && !step.check(&obs.Handler) {
				t.Errorf("Read does not show the change: %+v", obs.Handler)
			}
			st = mustApply(t, d, want, st)
			obs = mustRead(t, d, st)
			if len(obs.Drifted) != 0 || len(obs.Missing) != 0 {
				t.Errorf("after Apply: Drifted %v, Missing %v", obs.Drifted, obs.Missing)
			}
			if obs.Handler.Retry.MaxAttempts != want.Retry.MaxAttempts || obs.Handler.Function.MemoryMB != want.Function.MemoryMB || obs.Handler.Trigger.Filter != nil {
				t.Errorf("after Apply: handler %+v", obs.Handler)
			}
		})
	}
}

// TestIAMPropagation: on AWS a new role cannot be assumed, nor used to read the queue, for a while;
// Apply retries the function and mapping creates through it and nothing else.
func TestIAMPropagation(t *testing.T) {
	s := emulator(t)
	d := newDriver(t, s)
	s.Fail(moto.Fault{Service: "lambda", Action: "CreateFunction", Times: 2,
		Code: "InvalidParameterValueException", Message: "The role defined for the function cannot be assumed by Lambda."})
	s.Fail(moto.Fault{Service: "lambda", Action: "CreateEventSourceMapping", Times: 2,
		Code: "InvalidParameterValueException", Message: "The provided execution role does not have permissions to call ReceiveMessage on SQS"})
	s.Fail(moto.Fault{Service: "sqs", Action: "CreateQueue", Match: "--queue", Times: 2,
		Code: "AWS.SimpleQueueService.QueueDeletedRecently", Message: "You must wait 60 seconds after deleting a queue before you can create another with the same name."})
	mustApply(t, d, handler("iam", spec.Queue), nil)
	calls := s.Calls()
	for _, call := range []string{"lambda:CreateFunction", "lambda:CreateEventSourceMapping"} {
		if calls[call] != 3 {
			t.Errorf("%s called %d times, want 3 (two refusals, then success)", call, calls[call])
		}
	}
	if calls["sqs:CreateQueue"] != 4 {
		t.Errorf("sqs:CreateQueue called %d times, want 4 (dead-letter queue, two refusals, success)", calls["sqs:CreateQueue"])
	}

	s.ResetCalls()
	s.Fail(moto.Fault{Service: "lambda", Action: "CreateFunction", Code: "InvalidParameterValueException", Message: "Unzipped size must be smaller than 262144000 bytes"})
	_, _, err := d.Apply(context.Background(), handler("big", spec.Queue), awstest.Code, nil)
	if driver.CodeOf(err) != driver.InvalidArgument || s.Calls()["lambda:CreateFunction"] != 1 {
		t.Errorf("Apply with the function refused: %v after %d calls, want InvalidArgument after 1", err, s.Calls()["lambda:CreateFunction"])
	}
}

// TestErrors: SDK errors come back as one *driver.Error naming the component, its name, and the
// portable code.
func TestErrors(t *testing.T) {
	s := emulator(t)
	d := newDriver(t, s)
	for _, c := range []struct {
		fault     moto.Fault
		component driver.Component
		code      driver.ErrorCode
		id        string
	}{
		{moto.Fault{Service: "iam", Action: "CreateRole", Code: "EntityAlreadyExists", Message: "Role exists"}, driver.Identity, driver.AlreadyExists, "errs--" + region},
		{moto.Fault{Service: "dynamodb", Action: "CreateTable", Code: "AccessDeniedException", Message: "no"}, driver.DedupTable, driver.PermissionDenied, "errs--dedup"},
		{moto.Fault{Service: "sqs", Action: "CreateQueue", Match: "--dlq", Code: "InvalidAttributeValue", Message: "bad"}, driver.DeadLetter, driver.InvalidArgument, "errs--dlq"},
	} {
		s.Fail(c.fault)
		st, _, err := d.Apply(context.Background(), handler("errs", spec.Queue), awstest.Code, nil)
		var de *driver.Error
		if !errors.As(err, &de) || de.Component != c.component || de.Code != c.code || de.ID != c.id || de.Action != "creating" {
			t.Errorf("%s: error %#v, want creating %s (%s) with code %v", c.fault.Action, de, c.component, c.id, c.code)
		}
		if left, err := d.Delete(context.Background(), st); err != nil || len(left) != 0 {
			t.Fatalf("Delete = %v, %v", left, err)
		}
	}
	_, err := d.Locate(context.Background(), "nobody")
	if driver.CodeOf(err) != driver.NotFound || !strings.Contains(err.Error(), "function (nobody)") {
		t.Errorf("Locate of nothing: %v", err)
	}
}

// TestArchitecture: Lambda takes an architecture only with code (UpdateFunctionCode); moto ignores it
// there, so the driver replaces the function under its name, keeping its ARN and its mapping.
func TestArchitecture(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	h := handler("arch", spec.Queue)
	st := mustApply(t, d, h, nil)
	h.Function.Architecture = "arm64"
	if _, _, err := d.Apply(ctx, h, nil, st); driver.CodeOf(err) != driver.InvalidArgument {
		t.Errorf("Apply of a new architecture without code: %v, want InvalidArgument", err)
	}
	st2 := mustApply(t, d, h, st)
	fn, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("arch")})
	if err != nil {
		t.Fatal(err)
	}
	if got := fn.Configuration.Architectures; len(got) != 1 || got[0] != "arm64" {
		t.Errorf("architectures %v, want [arm64]", got)
	}
	m, err := c.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(st2.Get(driver.Mapping))})
	if err != nil || st2.Get(driver.Mapping) != st.Get(driver.Mapping) || aws.ToString(m.FunctionArn) != st2.Get(driver.Function) {
		t.Errorf("mapping %v (was %s) of %s after the replacement: %v", st2.Get(driver.Mapping), st.Get(driver.Mapping), aws.ToString(m.FunctionArn), err)
	}
}

// TestQueueSettingsReadBack checks what SQS, Lambda and DynamoDB hold for a topic handler.
func TestQueueSettingsReadBack(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	h := handler("wired", spec.Topic)
	h.Function.MaxConcurrency = 7
	h.DeadLetter.RetentionDays = 4
	st := mustApply(t, d, h, nil)

	q := queueAttrs(t, c, st.Get(driver.Queue))
	dlq := queueAttrs(t, c, st.Get(driver.DeadLetter))
	if q["VisibilityTimeout"] != "180" || q["MessageRetentionPeriod"] != "345600" || q["SqsManagedSseEnabled"] != "true" || dlq["SqsManagedSseEnabled"] != "true" || dlq["MessageRetentionPeriod"] != "345600" {
		t.Errorf("queue %v, dead-letter queue %v", q, dlq)
	}
	var redrive map[string]any
	if err := json.Unmarshal([]byte(q["RedrivePolicy"]), &redrive); err != nil || redrive["maxReceiveCount"] != 5.0 || redrive["deadLetterTargetArn"] != dlq["QueueArn"] {
		t.Errorf("redrive policy %s, want 5 receives to %s", q["RedrivePolicy"], dlq["QueueArn"])
	}
	p := parsePolicy(t, q["Policy"])
	if len(p.Statement) != 1 || p.Statement[0].Principal["Service"] != "sns.amazonaws.com" || !strings.Contains(q["Policy"], st.Get(driver.Topic)) {
		t.Errorf("queue policy %s: want sns.amazonaws.com admitted for the topic only", q["Policy"])
	}
	sub, err := c.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(st.Get(driver.Subscription))})
	if err != nil || sub.Attributes["RawMessageDelivery"] != "true" || sub.Attributes["Endpoint"] != q["QueueArn"] {
		t.Errorf("subscription %v, %v", sub, err)
	}
	m, err := c.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(st.Get(driver.Mapping))})
	if err != nil || aws.ToInt32(m.BatchSize) != 10 || aws.ToInt32(m.ScalingConfig.MaximumConcurrency) != 7 ||
		len(m.FunctionResponseTypes) != 1 || m.FunctionResponseTypes[0] != "ReportBatchItemFailures" {
		t.Errorf("mapping %+v, %v", m, err)
	}
	fn, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("wired")})
	if err != nil {
		t.Fatal(err)
	}
	env := fn.Configuration.Environment.Variables
	if env["THREEFACTOR_DEDUP_STORE"] != "dynamodb://wired--dedup?region="+region || env["THREEFACTOR_HANDLER"] != "wired" || env["API_KEY"] != "s3cret" ||
		fn.Tags["threefactor:handler"] != "wired" || fn.Tags["team"] != "orders" {
		t.Errorf("function env %v, tags %v", env, fn.Tags)
	}
	ttl, err := c.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("wired--dedup")})
	if err != nil || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "expires_at" || ttl.TimeToLiveDescription.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled {
		t.Errorf("TTL %+v, %v", ttl, err)
	}
	table, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("wired--dedup")})
	if err != nil || table.Table.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest || aws.ToString(table.Table.KeySchema[0].AttributeName) != "id" {
		t.Errorf("table %+v, %v", table, err)
	}
}

func TestCheck(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	topic, err := c.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("there")})
	if err != nil {
		t.Fatal(err)
	}
	for source, want := range map[string]string{
		aws.ToString(topic.TopicArn):                           "",
		"arn:aws:sns:" + region + ":" + moto.Account + ":nope": "Trigger source not found",
		"arn:aws:sns:eu-west-1:" + moto.Account + ":there":     "Trigger source in another region",
	} {
		h := handler("chk", spec.Topic)
		h.Trigger.Source = source
		ps := d.Check(ctx, h)
		switch {
		case want == "" && len(ps) != 0:
			t.Errorf("Check(%s) = %v, want none", source, ps)
		case want != "" && (len(ps) != 1 || ps[0].Summary != want || ps[0].Warning || !slices.Equal(ps[0].Path, []string{"trigger", "source"})):
			t.Errorf("Check(%s) = %v, want %q on trigger.source", source, ps, want)
		}
	}
	if got := d.ImportID("orders"); got != "aws/"+region+"/orders" {
		t.Errorf("ImportID = %q", got)
	}
}

// TestSourceSwaps walks a handler through every trigger arrangement and back: the queue is replaced
// only when it must be (created versus adopted), the function and table never, and nothing leaks.
func TestSourceSwaps(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	h := harness(t, s)
	queueSource, err := h.ExistingSource(ctx, spec.Queue)
	if err != nil {
		t.Fatal(err)
	}
	topicSource, err := h.ExistingSource(ctx, spec.Topic)
	if err != nil {
		t.Fatal(err)
	}
	want := handler("swapper", spec.Queue)
	st := mustApply(t, d, want, nil)
	fn, table := st.Get(driver.Function), st.Get(driver.DedupTable)
	for _, step := range []struct {
		kind   spec.TriggerKind
		source string
	}{{spec.Queue, queueSource}, {spec.Topic, topicSource}, {spec.Topic, ""}, {spec.Queue, queueSource}, {spec.Topic, topicSource}, {spec.Queue, ""}} {
		want.Trigger.Kind, want.Trigger.Source = step.kind, step.source
		st = mustApply(t, d, want, st)
		obs := mustRead(t, d, st)
		if !reflect.DeepEqual(obs.Handler.Trigger, want.Trigger) || len(obs.Drifted) != 0 || len(obs.Missing) != 0 {
			t.Errorf("%s %q: Read trigger %+v, Drifted %v, Missing %v", step.kind, step.source, obs.Handler.Trigger, obs.Drifted, obs.Missing)
		}
		if st.Get(driver.Function) != fn || st.Get(driver.DedupTable) != table {
			t.Errorf("%s %q: function or table replaced", step.kind, step.source)
		}
		wantTopic := step.kind == spec.Topic && step.source == ""
		if st.Has(driver.Topic) != wantTopic || st.Has(driver.Subscription) != (step.kind == spec.Topic) {
			t.Errorf("%s %q: state %v", step.kind, step.source, st)
		}
		left, err := h.Leftovers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// role, function, mapping, log group, table, dead-letter queue, and the handler's own queue,
		// topic and subscription where the arrangement has them.
		n := 6 + btoi(step.source == "" || step.kind == spec.Topic) + btoi(wantTopic) + btoi(step.kind == spec.Topic)
		if len(left) != n {
			t.Errorf("%s %q: the emulator holds %d resources, want %d: %v", step.kind, step.source, len(left), n, left)
		}
	}
	queueURL, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("existing-queue")})
	if err != nil {
		t.Fatal(err)
	}
	if attrs := queueAttrs(t, c, aws.ToString(queueURL.QueueUrl)); attrs["VisibilityTimeout"] != "45" || attrs["RedrivePolicy"] != "" {
		t.Errorf("the queue once adopted keeps %v, want its own settings back", attrs)
	}
	if _, err := d.Delete(ctx, st); err != nil {
		t.Fatal(err)
	}
	if left, _ := h.Leftovers(ctx); len(left) != 0 {
		t.Errorf("left after Delete: %v", left)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func harness(t *testing.T, s *moto.Server) *awstest.Harness {
	t.Helper()
	h, err := awstest.New(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestLostCreateResponse: a create that takes effect but whose response is lost is retried by the
// SDK, which then meets what the first attempt made. The driver must take it as its own: the apply
// succeeds, records it, and a delete leaves nothing.
func TestLostCreateResponse(t *testing.T) {
	ctx := context.Background()
	for _, c := range awslambda.Cloud.Needs(&spec.Handler{Trigger: spec.Trigger{Kind: spec.Topic}}) {
		t.Run(string(c), func(t *testing.T) {
			s := emulator(t)
			h := harness(t, s)
			want := handler("lost", spec.Topic)
			call := h.LoseCreateResponse(c)
			st, _, err := h.D.Apply(ctx, want, awstest.Code, nil)
			if err != nil {
				t.Errorf("Apply with the response to creating %s lost: %v", c, err)
			}
			// One call per create (two for the queues), and the retry of the lost one.
			wantCalls := 2
			if call == "sqs:CreateQueue" {
				wantCalls = 3
			}
			if got := s.Calls()[call]; got != wantCalls {
				t.Errorf("%s called %d times, want %d: the lost response was not retried", call, got, wantCalls)
			}
			for _, need := range awslambda.Cloud.Needs(want) {
				if !st.Has(need) {
					t.Errorf("state lacks %s: %v", need, st)
				}
			}
			if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
				t.Fatalf("Delete = %v, %v", left, err)
			}
			if left, err := h.Leftovers(ctx); err != nil || len(left) != 0 {
				t.Errorf("left in moto: %v, %v", left, err)
			}
		})
	}
}

// TestExistingComponentNotTaken: a component that exists before the apply, even tagged for a handler
// of the same name (another state's), is never taken over when no attempt of this apply made it.
func TestExistingComponentNotTaken(t *testing.T) {
	s := emulator(t)
	h := harness(t, s)
	ctx := context.Background()
	if _, err := h.C.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("other--" + region), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
		Tags: []iamtypes.Tag{{Key: aws.String(awslambda.HandlerTag), Value: aws.String("other")}},
	}); err != nil {
		t.Fatal(err)
	}
	st, _, err := h.D.Apply(ctx, handler("other", spec.Queue), awstest.Code, nil)
	var de *driver.Error
	if !errors.As(err, &de) || de.Component != driver.Identity || de.Code != driver.AlreadyExists || st.Has(driver.Identity) {
		t.Errorf("Apply beside another state's role = %v, %v; want AlreadyExists on the identity, not recorded", st, err)
	}
	if _, err := h.D.Delete(ctx, st); err != nil {
		t.Fatal(err)
	}
}

// TestPartsCallBudget: a refresh of a topic reads it and its tags (2 calls), of a table its
// description, TTL and tags (3 calls); an apply without changes makes only those reads.
func TestPartsCallBudget(t *testing.T) {
	s := emulator(t)
	d := newDriver(t, s)
	ctx := context.Background()
	topic := &spec.AppTopic{Name: "budget", Cloud: awslambda.Name, Tags: map[string]string{"team": "a"}}
	table := &spec.AppTable{Name: "budget", Cloud: awslambda.Name, Key: "id", TTLAttribute: "exp", Tags: map[string]string{"team": "a"}}
	for _, tc := range []struct {
		name   string
		budget int
		apply  func(id string) (string, error)
		read   func(id string) error
	}{
		{"topic", 2, func(id string) (string, error) { return d.Topics().Apply(ctx, topic, id) },
			func(id string) error { _, err := d.Topics().Read(ctx, id); return err }},
		{"table", 3, func(id string) (string, error) { return d.Tables().Apply(ctx, table, id) },
			func(id string) error { _, err := d.Tables().Read(ctx, id); return err }},
	} {
		s.ResetCalls()
		id, err := tc.apply("")
		if err != nil {
			t.Fatal(err)
		}
		created := s.Calls()
		s.ResetCalls()
		if err := tc.read(id); err != nil {
			t.Fatal(err)
		}
		read := s.Calls()
		s.ResetCalls()
		if _, err := tc.apply(id); err != nil {
			t.Fatal(err)
		}
		noop := s.Calls()
		t.Logf("%s: create %d calls %v; refresh %d calls %v", tc.name, total(created), created, total(read), read)
		if total(read) != tc.budget {
			t.Errorf("%s: refresh made %d calls, want %d: %v", tc.name, total(read), tc.budget, read)
		}
		if !cmp.Equal(noop, read) {
			t.Errorf("%s: Apply of an unchanged part made %v, want only the refresh's reads %v", tc.name, noop, read)
		}
	}
}
