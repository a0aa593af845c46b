package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda/awstest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// attrOf returns attribute name of resource addr in s.
func attrOf(s *terraform.State, addr, name string) string {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return ""
	}
	return rs.Primary.Attributes[name]
}

func TestAccTopicAWS_basic(t *testing.T) {
	b := awsBackend(t)
	c := b.Harness.(*awstest.Harness).C
	ctx := context.Background()
	config := func(tags string) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_topic" "orders" {
  name  = "orders"
  cloud = "aws"
  tags  = %s
}
`, tags)
	}
	var arn string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: config(`{ team = "orders" }`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_topic.orders", "id", "aws/us-east-1/orders"),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "encrypted", "true"),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "tags_all.team", "orders"),
				resource.TestCheckNoResourceAttr("threefactor_topic.orders", "retention_days"),
				func(s *terraform.State) error {
					arn = attrOf(s, "threefactor_topic.orders", "topic_id")
					if !strings.HasPrefix(arn, "arn:aws:sns:us-east-1:") || attrOf(s, "threefactor_topic.orders", "publish_target") != arn {
						return fmt.Errorf("topic_id %q, publish_target %q", arn, attrOf(s, "threefactor_topic.orders", "publish_target"))
					}
					out, err := c.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &arn})
					if err != nil {
						return err
					}
					if k := out.Attributes["KmsMasterKeyId"]; k != "alias/aws/sns" {
						return fmt.Errorf("topic key %q, want alias/aws/sns", k)
					}
					return nil
				},
			),
		}, {
			Config: config(`{ team = "payments" }`),
			Check:  resource.TestCheckResourceAttr("threefactor_topic.orders", "tags.team", "payments"),
		}, {
			ResourceName: "threefactor_topic.orders", ImportState: true, ImportStateId: "aws/us-east-1/orders", ImportStateVerify: true,
		}, {
			// Encryption turned off outside Terraform shows as a change and is put right in place.
			PreConfig: func() {
				if _, err := c.SNS.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: &arn, AttributeName: ptr("KmsMasterKeyId"), AttributeValue: ptr("")}); err != nil {
					t.Fatal(err)
				}
			},
			Config: config(`{ team = "payments" }`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_topic.orders", "encrypted", "true"),
				resource.TestCheckResourceAttrPtr("threefactor_topic.orders", "topic_id", &arn),
			),
		}},
	})
}

// TestAccTopicAWS_subscribers: a topic another configuration's handler subscribes to is not destroyed
// without force_destroy, and the error names the subscriber.
func TestAccTopicAWS_subscribers(t *testing.T) {
	b := awsBackend(t)
	h := b.Harness.(*awstest.Harness)
	ctx := context.Background()
	config := func(force bool) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_topic" "shared" {
  name          = "shared"
  cloud         = "aws"
  force_destroy = %t
}
`, force)
	}
	subscribe := func(s *terraform.State) error {
		queue, err := h.ExistingSource(ctx, spec.Queue)
		if err != nil {
			return err
		}
		_, err = h.C.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: ptr(attrOf(s, "threefactor_topic.shared", "topic_id")), Protocol: ptr("sqs"), Endpoint: &queue})
		return err
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: config(false), Check: subscribe},
			{Config: config(false), Destroy: true, ExpectError: regexpSpaced(`(?s)Deleting topic.*1 subscription\(s\) this configuration does not manage \(sqs arn:aws:sqs:us-east-1:[0-9]+:existing-queue\).*force_destroy = true`)},
			{Config: config(true)},
		},
	})
}

// TestAccTopicAWS_fanOut applies one topic and three handlers subscribed to it, one with a filter, and
// publishes an event: exactly the handlers whose filter matches get it. The handlers are paused
// (trigger.enabled = false), so their queues keep what the topic delivers instead of moto's event
// source mappings taking it: the test reads each handler's own queue.
func TestAccTopicAWS_fanOut(t *testing.T) {
	b := awsBackend(t)
	c := b.Harness.(*awstest.Harness).C
	ctx := context.Background()
	config := fanOutConfig(b, "aws", sourceDir(t))
	publish := func(eventType string, want map[string]int) func(*terraform.State) error {
		return func(s *terraform.State) error {
			_, err := c.SNS.Publish(ctx, &sns.PublishInput{
				TopicArn: ptr(attrOf(s, "threefactor_topic.orders", "publish_target")), Message: ptr(`{"order_id":"1"}`),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{"type": {DataType: ptr("String"), StringValue: &eventType}},
			})
			if err != nil {
				return err
			}
			for name, n := range want {
				queue := attrOf(s, "threefactor_eventhandler."+name, "components.queue")
				out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &queue, MaxNumberOfMessages: 10})
				if err != nil {
					return err
				}
				if len(out.Messages) != n {
					return fmt.Errorf("%s: %d messages of type %s, want %d", name, len(out.Messages), eventType, n)
				}
				for _, m := range out.Messages {
					if *m.Body != `{"order_id":"1"}` {
						return fmt.Errorf("%s: body %q, want the published body (raw delivery)", name, *m.Body)
					}
					if _, err := c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queue, ReceiptHandle: m.ReceiptHandle}); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	var billingSub string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: config(`, filter = { type = ["order.created", "order.cancelled"] }`),
			Check: resource.ComposeTestCheckFunc(
				publish("order.created", map[string]int{"audit": 1, "billing": 1, "shipping": 0}),
				publish("order.paid", map[string]int{"audit": 1, "billing": 0, "shipping": 1}),
				func(s *terraform.State) error {
					billingSub = attrOf(s, "threefactor_eventhandler.billing", "components.subscription")
					return nil
				},
			),
		}, {
			// A filter changed outside Terraform shows as drift and is put back in place.
			PreConfig: func() {
				if _, err := c.SNS.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: &billingSub,
					AttributeName: ptr("FilterPolicy"), AttributeValue: ptr(`{"type":["order.paid"]}`)}); err != nil {
					t.Fatal(err)
				}
			},
			Config:             config(`, filter = { type = ["order.created", "order.cancelled"] }`),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}, {
			Config: config(`, filter = { type = ["order.created", "order.cancelled"] }`),
			Check:  publish("order.cancelled", map[string]int{"audit": 1, "billing": 1, "shipping": 0}),
		}, {
			// Removing the filter updates the subscription in place: billing gets everything.
			Config: config(""),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttrPtr("threefactor_eventhandler.billing", "components.subscription", &billingSub),
				publish("order.paid", map[string]int{"audit": 1, "billing": 1, "shipping": 1}),
			),
		}},
	})
}

// fanOutConfig returns the configuration of the fan-out tests on cloud: topic orders and three paused
// handlers subscribed to it, audit (no filter), billing (filter, given as `, filter = {...}` or "")
// and shipping (order.paid only).
func fanOutConfig(b *backend, cloud, src string) func(filter string) string {
	handler := func(name, filter string) string {
		return fmt.Sprintf(`
resource "threefactor_eventhandler" %[1]q {
  name     = %[1]q
  cloud    = %[4]q
  function = { runtime = "nodejs22", source_dir = %[2]q }
  trigger  = { kind = "topic", source = threefactor_topic.orders.topic_id, enabled = false%[3]s }
}
`, name, src, filter, cloud)
	}
	return func(filter string) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_topic" "orders" {
  name  = "orders"
  cloud = %q
}
`, cloud) + handler("audit", "") + handler("billing", filter) + handler("shipping", `, filter = { type = ["order.paid"] }`)
	}
}

func TestAccTableAWS_basic(t *testing.T) {
	b := awsBackend(t)
	c := b.Harness.(*awstest.Harness).C
	ctx := context.Background()
	config := func(body string) string {
		return b.provider + `
resource "threefactor_table" "orders" {
  name  = "orders"
  cloud = "aws"
  ` + body + `
}
`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: config(`ttl_attribute = "expires"
  tags = { team = "orders" }`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_table.orders", "id", "aws/us-east-1/orders"),
				resource.TestCheckResourceAttr("threefactor_table.orders", "key", "id"),
				resource.TestCheckResourceAttr("threefactor_table.orders", "table_id", "arn:aws:dynamodb:us-east-1:123456789012:table/orders"),
				func(*terraform.State) error {
					out, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: ptr("orders")})
					if err != nil {
						return err
					}
					if out.Table.BillingModeSummary == nil || out.Table.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest {
						return fmt.Errorf("billing mode %+v, want on demand", out.Table.BillingModeSummary)
					}
					return nil
				},
			),
		}, {
			ResourceName: "threefactor_table.orders", ImportState: true, ImportStateId: "aws/us-east-1/orders", ImportStateVerify: true,
		}, {
			// TTL turned off outside Terraform shows as drift.
			PreConfig: func() {
				if _, err := c.DynamoDB.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: ptr("orders"),
					TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: ptr("expires"), Enabled: aws.Bool(false)}}); err != nil {
					t.Fatal(err)
				}
			},
			Config: config(`ttl_attribute = "expires"
  tags = { team = "orders" }`),
			PlanOnly: true, ExpectNonEmptyPlan: true,
		}, {
			Config: config(`tags = { team = "payments" }`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckNoResourceAttr("threefactor_table.orders", "ttl_attribute"),
				resource.TestCheckResourceAttr("threefactor_table.orders", "tags_all.team", "payments"),
			),
		}},
	})
}

// TestAccTableAWS_items: a table that holds items is not destroyed without force_destroy.
func TestAccTableAWS_items(t *testing.T) { testTableItems(t, awsBackend(t), "aws", "holds items") }

// testTableItems: a table on cloud that holds an item (written by the harness, as a handler would)
// is not destroyed without force_destroy, with an error that contains refusal.
func testTableItems(t *testing.T, b *backend, cloud, refusal string) {
	h := b.Harness.(drivertest.ItemPutter)
	config := func(force bool) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_table" "state" {
  name          = "state"
  cloud         = %q
  force_destroy = %t
}
`, cloud, force)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: config(false), Check: func(s *terraform.State) error {
				return h.PutItem(context.Background(), attrOf(s, "threefactor_table.state", "table_id"), "order-1")
			}},
			{Config: config(false), Destroy: true, ExpectError: regexpSpaced(`(?s)Deleting table.*` + regexp.QuoteMeta(refusal) + `.*force_destroy = true`)},
			{Config: config(true)},
		},
	})
}

// TestAccTableAWS_grant: function.tables grants the handler's role exactly its access on exactly the
// table and injects THREEFACTOR_TABLE_<NAME>; changing the access updates the policy in place.
func TestAccTableAWS_grant(t *testing.T) {
	b := awsBackend(t)
	c := b.Harness.(*awstest.Harness).C
	ctx := context.Background()
	src := sourceDir(t)
	config := func(access string) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_table" "orders" {
  name  = "orders"
  cloud = "aws"
}

resource "threefactor_eventhandler" "test" {
  name  = "granted"
  cloud = "aws"
  function = {
    runtime    = "nodejs22"
    source_dir = %q
    tables     = { orders = { table_id = threefactor_table.orders.table_id, access = %q } }
  }
}
`, src, access)
	}
	check := func(want []string) func(*terraform.State) error {
		return func(s *terraform.State) error {
			table := attrOf(s, "threefactor_table.orders", "table_id")
			fn, err := c.Lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: ptr("granted")})
			if err != nil {
				return err
			}
			if got := fn.Environment.Variables["THREEFACTOR_TABLE_ORDERS"]; got != "dynamodb://orders?region=us-east-1" {
				return fmt.Errorf("THREEFACTOR_TABLE_ORDERS = %q", got)
			}
			p, err := c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: ptr("granted--us-east-1"), PolicyName: ptr("threefactor")})
			if err != nil {
				return err
			}
			var doc struct {
				Statement []struct {
					Sid      string
					Action   []string
					Resource []string
				}
			}
			raw, err := url.QueryUnescape(*p.PolicyDocument) // IAM returns documents URL-encoded
			if err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(raw), &doc); err != nil {
				return err
			}
			for _, st := range doc.Statement {
				for _, r := range st.Resource {
					if r == table && (st.Sid != "Tableorders" || strings.Join(st.Action, ",") != strings.Join(want, ",")) {
						return fmt.Errorf("statement %s on the table grants %v, want %v", st.Sid, st.Action, want)
					}
					if r == table {
						return nil
					}
				}
			}
			return fmt.Errorf("no statement on %s: %s", table, *p.PolicyDocument)
		}
	}
	read := []string{"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query"}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: config("read_write"), Check: check([]string{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
				"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"})},
			{Config: config("read"), Check: check(read)},
			{Config: config("write"), PlanOnly: true, ExpectError: regexpSpaced(`function.tables\["orders"\]: access must be "read" or "read_write", got "write"`)},
		},
	})
}

// planRefusal is a configuration (below the backend's provider block) that the plan refuses, with
// the text it must say.
type planRefusal struct{ name, config, want string }

// testPlanRefuses plans each configuration and expects its refusal, word for word.
func testPlanRefuses(t *testing.T, b *backend, cases []planRefusal) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: b.factories,
				Steps:                    []resource.TestStep{{Config: b.provider + tc.config, PlanOnly: true, ExpectError: regexpSpaced(regexp.QuoteMeta(tc.want))}},
			})
		})
	}
}

// TestAccTopicAWS_invalid: bad topic and table settings, and a topic's id where trigger.source wants
// its topic_id, are refused at plan on the attribute, saying what is allowed.
func TestAccTopicAWS_invalid(t *testing.T) {
	b := awsBackend(t)
	testPlanRefuses(t, b, []planRefusal{
		{"doubleHyphen", `resource "threefactor_topic" "t" {
  name  = "a--b"
  cloud = "aws"
}`, `A topic's name must not contain "--"`},
		{"fifo", `resource "threefactor_topic" "t" {
  name  = "orders.fifo"
  cloud = "aws"
}`, `FIFO topics are not supported`},
		{"retention", `resource "threefactor_topic" "t" {
  name           = "orders"
  cloud          = "aws"
  retention_days = 3
}`, `retention_days is not available on aws: an SNS standard topic keeps no messages`},
		{"tableTTLIsKey", `resource "threefactor_table" "t" {
  name          = "orders"
  cloud         = "aws"
  ttl_attribute = "id"
}`, `ttl_attribute must differ from key`},
		{"topicIDAsSource", `resource "threefactor_topic" "t" {
  name  = "orders"
  cloud = "aws"
}
resource "threefactor_eventhandler" "h" {
  name     = "h"
  cloud    = "aws"
  function = { runtime = "nodejs22", source_dir = "."}
  trigger  = { kind = "topic", source = "aws/us-east-1/orders" }
}`, `"aws/us-east-1/orders" is a threefactor_topic's id (its import id); trigger.source takes the topic's topic_id`},
		{"tableIDAsGrant", `resource "threefactor_eventhandler" "h" {
  name     = "h"
  cloud    = "aws"
  function = { runtime = "nodejs22", source_dir = ".", tables = { orders = { table_id = "aws/us-east-1/orders", access = "read" } } }
}`, `function.tables["orders"]: "aws/us-east-1/orders" is a threefactor_table's id (its import id); pass its table_id instead.`},
		{"filterOnQueue", `resource "threefactor_eventhandler" "h" {
  name     = "h"
  cloud    = "aws"
  function = { runtime = "nodejs22", source_dir = "."}
  trigger  = { filter = { type = ["a"] } }
}`, `trigger.filter selects a topic's messages; it needs trigger.kind = "topic"`},
		{"filterTooComplex", `resource "threefactor_eventhandler" "h" {
  name     = "h"
  cloud    = "aws"
  function = { runtime = "nodejs22", source_dir = "."}
  trigger  = { kind = "topic", filter = { a = ["1","2","3","4","5","6"], b = ["1","2","3","4","5","6"], c = ["1","2","3","4","5"] } }
}`, `trigger.filter matches 180 combinations of values; at most 150 are allowed on aws`},
	})
}

// TestAccTableAWS_failedCreate: a table whose TTL cannot be set is deleted again, so the failed create
// leaves nothing Terraform does not know about, and applying again converges.
func TestAccTableAWS_failedCreate(t *testing.T) {
	b := awsBackend(t)
	h := b.Harness.(*awstest.Harness)
	cfg := b.provider + `
resource "threefactor_table" "orders" {
  name          = "orders"
  cloud         = "aws"
  ttl_attribute = "expires_at"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			PreConfig:   func() { h.S.Fail(moto.Fault{Service: "dynamodb", Action: "UpdateTimeToLive"}) },
			Config:      cfg,
			ExpectError: regexpSpaced(`(?s)Setting the TTL of table \(orders\).*Nothing was left behind`),
		}, {
			PreConfig: func() {
				if left, err := b.Leftovers(context.Background()); err != nil || len(left) != 0 {
					t.Fatalf("the failed create left %v (%v)", left, err)
				}
			},
			Config: cfg,
			Check:  resource.TestCheckResourceAttr("threefactor_table.orders", "ttl_attribute", "expires_at"),
		}},
	})
}
