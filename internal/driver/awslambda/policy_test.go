package awslambda

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

func TestRolePolicy(t *testing.T) {
	g := grants{
		logGroupARN: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/orders",
		queueARN:    "arn:aws:sqs:us-east-1:123456789012:orders--queue",
		kmsKeyARN:   "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		tableARN:    "arn:aws:dynamodb:us-east-1:123456789012:table/orders--dedup",
	}
	want := []statement{
		{Sid: "Logs", Effect: "Allow", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resource: []string{"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/orders:*"}},
		{Sid: "Queue", Effect: "Allow", Action: []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
			Resource: []string{"arn:aws:sqs:us-east-1:123456789012:orders--queue"}},
		{Sid: "QueueKey", Effect: "Allow", Action: []string{"kms:Decrypt"},
			Resource: []string{"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		{Sid: "Dedup", Effect: "Allow",
			Action:   []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
			Resource: []string{"arn:aws:dynamodb:us-east-1:123456789012:table/orders--dedup"}},
	}
	var got policy
	doc := rolePolicy(g)
	if err := json.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.Statement); diff != "" {
		t.Errorf("role policy statements (-want +got):\n%s", diff)
	}
	checkNoWildcards(t, got)
	if rolePolicy(g) != doc {
		t.Error("rolePolicy gives different bytes for the same grants")
	}

	g.kmsKeyARN = ""
	if err := json.Unmarshal([]byte(rolePolicy(g)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Statement) != 3 || strings.Contains(rolePolicy(g), "kms:") {
		t.Errorf("without an adopted KMS queue the policy grants kms: %s", rolePolicy(g))
	}
}

// TestRolePolicyTables: each granted table gets exactly its access level's actions, on that table alone,
// and the grants read back from the document.
func TestRolePolicyTables(t *testing.T) {
	orders, audit := "arn:aws:dynamodb:us-east-1:123456789012:table/orders", "arn:aws:dynamodb:eu-west-1:123456789012:table/audit"
	g := grants{
		logGroupARN: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/orders",
		queueARN:    "arn:aws:sqs:us-east-1:123456789012:h--queue",
		tableARN:    "arn:aws:dynamodb:us-east-1:123456789012:table/h--dedup",
		tables: map[string]spec.TableGrant{
			"orders":    {TableID: orders, Access: spec.ReadWrite},
			"audit_log": {TableID: audit, Access: spec.Read},
		},
	}
	var got policy
	doc := rolePolicy(g)
	if err := json.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	want := []statement{
		{Sid: "TableauditUlog", Effect: "Allow", Resource: []string{audit},
			Action: []string{"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query"}},
		{Sid: "Tableorders", Effect: "Allow", Resource: []string{orders},
			Action: []string{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
				"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}},
	}
	if diff := cmp.Diff(want, got.Statement[3:]); diff != "" {
		t.Errorf("table statements (-want +got):\n%s", diff)
	}
	checkNoWildcards(t, got)
	for name, grant := range g.tables {
		if id, access := grantOf(doc, name); id != grant.TableID || access != grant.Access {
			t.Errorf("grantOf(%q) = %q, %q; want %q, %q", name, id, access, grant.TableID, grant.Access)
		}
	}
	if id, access := grantOf(doc, "other"); id != "" || access != "" {
		t.Errorf("grantOf of an ungranted name = %q, %q", id, access)
	}
}

// checkNoWildcards: no statement grants every resource or a wildcard action, and the only wildcard
// is the log streams of the function's own group, whose names Lambda chooses.
func checkNoWildcards(t *testing.T, p policy) {
	t.Helper()
	for _, s := range p.Statement {
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("statement %s: wildcard action %q", s.Sid, a)
			}
		}
		for _, r := range s.Resource {
			// The log streams of its own group are the one wildcard the policy needs.
			ownStreams := s.Sid == "Logs" && strings.HasSuffix(r, ":log-group:/aws/lambda/orders:*")
			if strings.Contains(r, "*") && !ownStreams {
				t.Errorf("statement %s: wildcard resource %q", s.Sid, r)
			}
		}
	}
}

func TestQueuePolicyAdmitsOnlyTheTopic(t *testing.T) {
	doc := queuePolicy("arn:aws:sqs:us-east-1:1:q", "arn:aws:sns:us-east-1:1:t")
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"TopicSend","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":["sqs:SendMessage"],"Resource":["arn:aws:sqs:us-east-1:1:q"],"Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:1:t"}}}]}`
	if doc != want {
		t.Errorf("queuePolicy =\n%s\nwant\n%s", doc, want)
	}
	if got := policyTopic(doc); got != "arn:aws:sns:us-east-1:1:t" {
		t.Errorf("policyTopic = %q", got)
	}
}

func TestSameJSON(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[2]}`, `{ "b": [2], "a": 1 }`, true},
		{`{"a":1}`, `%7B%22a%22%3A1%7D`, true}, // IAM's URL-encoded form
		{`{"a":1}`, `{"a":2}`, false},
		{``, ``, true},
		{`{"a":1}`, ``, false},
	} {
		if got := sameJSON(c.a, c.b); got != c.want {
			t.Errorf("sameJSON(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	for code, want := range map[string]driver.ErrorCode{
		"NoSuchEntity":                            driver.NotFound,
		"ResourceNotFoundException":               driver.NotFound,
		"QueueDoesNotExist":                       driver.NotFound,
		"AWS.SimpleQueueService.NonExistentQueue": driver.NotFound,
		"NotFound":                                driver.NotFound,
		"EntityAlreadyExists":                     driver.AlreadyExists,
		"ResourceAlreadyExistsException":          driver.AlreadyExists,
		"QueueNameExists":                         driver.AlreadyExists,
		"InvalidParameterValueException":          driver.InvalidArgument,
		"ValidationError":                         driver.InvalidArgument,
		"MalformedPolicyDocument":                 driver.InvalidArgument,
		"AccessDenied":                            driver.PermissionDenied,
		"AccessDeniedException":                   driver.PermissionDenied,
		"AuthorizationError":                      driver.PermissionDenied,
		"ThrottlingException":                     driver.Unknown,
	} {
		err := fail(driver.Queue, "creating", "q", &smithy.GenericAPIError{Code: code, Message: "m"})
		if got := driver.CodeOf(err); got != want {
			t.Errorf("%s: code %v, want %v", code, got, want)
		}
	}
	if fail(driver.Queue, "creating", "q", nil) != nil {
		t.Error("fail(nil) is not nil")
	}
}

func TestIsPropagating(t *testing.T) {
	for msg, want := range map[string]bool{
		"The role defined for the function cannot be assumed by Lambda.":                      true,
		"The provided execution role does not have permissions to call ReceiveMessage on SQS": true,
		"Unzipped size must be smaller than 262144000 bytes":                                  false,
	} {
		err := &smithy.GenericAPIError{Code: "InvalidParameterValueException", Message: msg}
		if got := isPropagating(err); got != want {
			t.Errorf("isPropagating(%q) = %v, want %v", msg, got, want)
		}
	}
	if isPropagating(&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "cannot be assumed"}) {
		t.Error("isPropagating accepts another error code")
	}
}

func TestQueueARNFromURL(t *testing.T) {
	d := &Driver{region: "eu-west-1", partition: "aws"}
	for url, want := range map[string]string{
		"https://sqs.eu-west-1.amazonaws.com/123456789012/orders--queue": "arn:aws:sqs:eu-west-1:123456789012:orders--queue",
		"http://127.0.0.1:5000/123456789012/orders--dlq":                 "arn:aws:sqs:eu-west-1:123456789012:orders--dlq",
	} {
		if got := d.queueARN(url); got != want {
			t.Errorf("queueARN(%q) = %q, want %q", url, got, want)
		}
	}
	if partitionOf("cn-north-1") != "aws-cn" || partitionOf("us-gov-west-1") != "aws-us-gov" || partitionOf("eu-west-1") != "aws" {
		t.Error("partitionOf")
	}
}

func TestParseRedrive(t *testing.T) {
	for doc, want := range map[string]int64{
		`{"deadLetterTargetArn":"arn:aws:sqs:r:1:d","maxReceiveCount":5}`:   5,
		`{"deadLetterTargetArn":"arn:aws:sqs:r:1:d","maxReceiveCount":"7"}`: 7,
		``: 0,
	} {
		if _, got := parseRedrive(doc); got != want {
			t.Errorf("parseRedrive(%s) = %d, want %d", doc, got, want)
		}
	}
	if !sameJSON(redrivePolicy("arn:aws:sqs:r:1:d", 5), `{"deadLetterTargetArn":"arn:aws:sqs:r:1:d","maxReceiveCount":5}`) {
		t.Errorf("redrivePolicy = %s", redrivePolicy("arn:aws:sqs:r:1:d", 5))
	}
}
