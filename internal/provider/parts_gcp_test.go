package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions/gcptest"
)

func TestAccTopicGCP_basic(t *testing.T) {
	b := gcpBackend(t)
	h := b.Harness.(*gcptest.Harness)
	ctx := context.Background()
	config := func(body string) string {
		return b.provider + `
resource "threefactor_topic" "orders" {
  name  = "orders"
  cloud = "gcp"
  ` + body + `
}
`
	}
	name := "projects/" + h.Project + "/topics/orders"
	retention := func(want time.Duration) func(*terraform.State) error {
		return func(*terraform.State) error {
			got, err := h.Topics.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: name})
			if err != nil {
				return err
			}
			if d := got.GetMessageRetentionDuration().AsDuration(); d != want {
				return fmt.Errorf("the topic keeps messages %v, want %v", d, want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: config(`tags = { team = "orders" }`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_topic.orders", "id", "gcp/"+h.Project+"/"+gcptest.Region+"/orders"),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "topic_id", name),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "publish_target", name),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "encrypted", "true"),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "retention_days", "7"),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "tags_all.team", "orders"),
				retention(7*24*time.Hour),
			),
		}, {
			Config: config(`tags = { team = "payments" }
  retention_days = 3`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_topic.orders", "tags.team", "payments"),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "topic_id", name),
				retention(3*24*time.Hour),
			),
		}, {
			ResourceName: "threefactor_topic.orders", ImportState: true, ImportStateId: "gcp/" + h.Project + "/" + gcptest.Region + "/orders", ImportStateVerify: true,
		}, {
			// A retention changed outside Terraform shows as drift, and the apply puts it back in place.
			PreConfig: func() {
				if _, err := h.Topics.UpdateTopic(ctx, &pubsubpb.UpdateTopicRequest{
					Topic:      &pubsubpb.Topic{Name: name, MessageRetentionDuration: durationpb.New(time.Hour)},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"message_retention_duration"}},
				}); err != nil {
					t.Fatal(err)
				}
			},
			Config: config(`tags = { team = "payments" }
  retention_days = 3`),
			PlanOnly: true, ExpectNonEmptyPlan: true,
		}, {
			Config: config(`tags = { team = "payments" }
  retention_days = 3`),
			Check: retention(3 * 24 * time.Hour),
		}},
	})
}

// TestAccTopicGCP_subscribers: a topic with a subscription this configuration does not manage is not
// destroyed without force_destroy, and the error names the subscription.
func TestAccTopicGCP_subscribers(t *testing.T) {
	b := gcpBackend(t)
	h := b.Harness.(*gcptest.Harness)
	ctx := context.Background()
	config := func(force bool) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_topic" "shared" {
  name          = "shared"
  cloud         = "gcp"
  force_destroy = %t
}
`, force)
	}
	other := "projects/" + h.Project + "/subscriptions/other-team"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		// Pub/Sub keeps a deleted topic's subscriptions, detached: the other team's is theirs to delete.
		CheckDestroy: func(s *terraform.State) error {
			if err := h.Subs.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: other}); err != nil {
				return err
			}
			return b.checkNoLeftovers(s)
		},
		Steps: []resource.TestStep{
			{Config: config(false), Check: func(s *terraform.State) error {
				_, err := h.Subs.CreateSubscription(ctx, &pubsubpb.Subscription{Name: other, Topic: attrOf(s, "threefactor_topic.shared", "topic_id")})
				return err
			}},
			{Config: config(false), Destroy: true, ExpectError: regexpSpaced(
				`(?s)Deleting topic.*1 subscription\(s\) this configuration does not manage \(` + regexp.QuoteMeta(other) + `\).*force_destroy = true`)},
			{Config: config(true)},
		},
	})
}

// TestAccTopicGCP_fanOut applies one topic and three handlers subscribed to it, one with a filter
// that the test changes, and publishes events: exactly the handlers whose filter matches get each.
// The handlers are paused (trigger.enabled = false), so each push subscription is a pull one nobody
// pulls and keeps what the topic delivers: the test pulls each handler's subscription itself,
// through the harness, which applies the subscription's filter as Pub/Sub does (the emulator stores
// filters but delivers every message).
func TestAccTopicGCP_fanOut(t *testing.T) {
	b := gcpBackend(t)
	h := b.Harness.(*gcptest.Harness)
	ctx := context.Background()
	config := fanOutConfig(b, "gcp", sourceDir(t))
	published := 0
	publish := func(eventType string, want map[string]int) func(*terraform.State) error {
		return func(s *terraform.State) error {
			published++
			data := fmt.Sprintf(`{"order_id":"%d"}`, published)
			if _, err := h.Topics.Publish(ctx, &pubsubpb.PublishRequest{Topic: attrOf(s, "threefactor_topic.orders", "publish_target"),
				Messages: []*pubsubpb.PubsubMessage{{Data: []byte(data), Attributes: map[string]string{"type": eventType}}}}); err != nil {
				return err
			}
			for name, n := range want {
				sub := attrOf(s, "threefactor_eventhandler."+name, "components.subscription")
				got, err := h.Pull(ctx, sub) // the emulator ignores filters: the harness applies them
				if err != nil {
					return err
				}
				// The emulator hands a new subscription what the topic retains (Pub/Sub starts it empty):
				// only this event counts.
				var acks []string
				seen := 0
				for _, m := range got {
					if string(m.GetMessage().GetData()) == data {
						seen++
					}
					acks = append(acks, m.GetAckId())
				}
				if seen != n {
					return fmt.Errorf("%s: got the event of type %s %d times, want %d", name, eventType, seen, n)
				}
				if len(acks) > 0 {
					if err := h.Subs.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: acks}); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	filterOf := func(name string, want string) func(*terraform.State) error {
		return func(s *terraform.State) error {
			sub, err := h.Subs.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: attrOf(s, "threefactor_eventhandler."+name, "components.subscription")})
			if err != nil {
				return err
			}
			if sub.GetFilter() != want {
				return fmt.Errorf("%s: subscription filter %q, want %q", name, sub.GetFilter(), want)
			}
			return nil
		}
	}
	created := `, filter = { type = ["order.created", "order.cancelled"] }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: config(created),
			Check: resource.ComposeTestCheckFunc(
				filterOf("billing", `attributes.type = "order.created" OR attributes.type = "order.cancelled"`),
				filterOf("audit", ""),
				publish("order.created", map[string]int{"audit": 1, "billing": 1, "shipping": 0}),
				publish("order.paid", map[string]int{"audit": 1, "billing": 0, "shipping": 1}),
			),
		}, {
			// A subscription made again outside Terraform with another filter shows as drift.
			PreConfig: func() {
				name := "projects/" + h.Project + "/subscriptions/billing--push"
				sub, err := h.Subs.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name})
				if err == nil {
					err = h.Subs.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: name})
				}
				if err == nil {
					sub.Filter = `attributes.type = "order.paid"`
					_, err = h.Subs.CreateSubscription(ctx, sub)
				}
				if err != nil {
					t.Fatal(err)
				}
			},
			Config:             config(created),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}, {
			// The apply replaces it with the configured filter.
			Config: config(created),
			Check: resource.ComposeTestCheckFunc(
				filterOf("billing", `attributes.type = "order.created" OR attributes.type = "order.cancelled"`),
				publish("order.cancelled", map[string]int{"audit": 1, "billing": 1, "shipping": 0}),
			),
		}, {
			// Removing the filter replaces the subscription (a filter cannot change): billing gets everything.
			Config: config(""),
			Check: resource.ComposeTestCheckFunc(
				filterOf("billing", ""),
				publish("order.paid", map[string]int{"audit": 1, "billing": 1, "shipping": 1}),
			),
		}},
	})
}

func TestAccTableGCP_basic(t *testing.T) {
	b := gcpBackend(t)
	h := b.Harness.(*gcptest.Harness)
	config := func(body string) string {
		return b.provider + `
resource "threefactor_table" "orders" {
  name  = "orders"
  cloud = "gcp"
  ` + body + `
}
`
	}
	db := "projects/" + h.Project + "/databases/orders"
	ttl := func(want string) func(*terraform.State) error {
		return func(*terraform.State) error {
			var fields []string
			for f := range h.Fake.TTLFields() {
				if strings.HasPrefix(f, db+"/") {
					fields = append(fields, f)
				}
			}
			slices.Sort(fields)
			// Beside the items' TTL, the one on the dedup records Transactional mode keeps with their state.
			w := []string{db + "/collectionGroups/threefactor_dedup/fields/expires_at"}
			if want != "" {
				w = append([]string{db + "/collectionGroups/orders/fields/" + want}, w...)
			}
			if !slices.Equal(fields, w) {
				return fmt.Errorf("TTL fields %v, want %v", fields, w)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: config(`ttl_attribute = "expires"`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_table.orders", "id", "gcp/"+h.Project+"/"+gcptest.Region+"/orders"),
				resource.TestCheckResourceAttr("threefactor_table.orders", "key", "id"),
				resource.TestCheckResourceAttr("threefactor_table.orders", "table_id", db),
				resource.TestCheckNoResourceAttr("threefactor_table.orders", "tags"),
				ttl("expires"),
			),
		}, {
			ResourceName: "threefactor_table.orders", ImportState: true, ImportStateId: "gcp/" + h.Project + "/" + gcptest.Region + "/orders", ImportStateVerify: true,
		}, {
			// The TTL policy removed outside Terraform shows as drift.
			PreConfig: func() {
				if err := h.RemoveTTL(context.Background(), db+"/collectionGroups/orders/fields/expires"); err != nil {
					t.Fatal(err)
				}
			},
			Config:   config(`ttl_attribute = "expires"`),
			PlanOnly: true, ExpectNonEmptyPlan: true,
		}, {
			Config: config(`ttl_attribute = "valid_until"`),
			Check:  ttl("valid_until"),
		}, {
			Config: config(""),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckNoResourceAttr("threefactor_table.orders", "ttl_attribute"),
				ttl(""),
			),
		}},
	})
}

// TestAccTableGCP_defaultTags: the provider's default_tags label a topic but not a table, whose
// Firestore database takes no labels: neither is refused, and neither shows a change after apply.
func TestAccTableGCP_defaultTags(t *testing.T) {
	b := gcpBackend(t)
	provider := strings.Replace(b.provider, `provider "threefactor" {`, `provider "threefactor" {
  default_tags = { owner = "platform" }`, 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: provider + `
resource "threefactor_topic" "orders" {
  name  = "orders"
  cloud = "gcp"
}

resource "threefactor_table" "orders" {
  name  = "orders"
  cloud = "gcp"
}
`,
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_topic.orders", "tags_all.owner", "platform"),
				resource.TestCheckResourceAttr("threefactor_table.orders", "tags_all.%", "0"),
			),
		}},
	})
}

// TestAccTableGCP_items: a table whose collection holds documents is not destroyed without
// force_destroy.
func TestAccTableGCP_items(t *testing.T) {
	testTableItems(t, gcpBackend(t), "gcp", "collection state holds documents")
}

// TestAccTableGCP_grant: function.tables grants the handler's account exactly its access level's
// role, conditioned on exactly the table's database, and injects THREEFACTOR_TABLE_<NAME>; changing
// the access rewrites the binding in place, a binding removed outside Terraform shows as drift.
func TestAccTableGCP_grant(t *testing.T) {
	b := gcpBackend(t)
	h := b.Harness.(*gcptest.Harness)
	src := sourceDir(t)
	config := func(access string) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_table" "orders" {
  name  = "orders"
  cloud = "gcp"
}

resource "threefactor_table" "audit" {
  name  = "audit"
  cloud = "gcp"
}

resource "threefactor_eventhandler" "test" {
  name  = "granted"
  cloud = "gcp"
  function = {
    runtime    = "nodejs22"
    source_dir = %q
    tables     = { orders = { table_id = threefactor_table.orders.table_id, access = %q } }
  }
}
`, src, access)
	}
	project := "projects/" + h.Project
	// grants are the account's conditional bindings on the project: role and condition expression.
	grants := func(s *terraform.State) []string {
		member := "serviceAccount:" + attrOf(s, "threefactor_eventhandler.test", "identity_id")
		var out []string
		for _, x := range h.Fake.Policy(project).GetBindings() {
			if slices.Contains(x.GetMembers(), member) {
				out = append(out, x.GetRole()+" "+x.GetCondition().GetTitle()+": "+x.GetCondition().GetExpression())
			}
		}
		slices.Sort(out)
		return out
	}
	check := func(role string) func(*terraform.State) error {
		return func(s *terraform.State) error {
			table := attrOf(s, "threefactor_table.orders", "table_id")
			want := []string{
				"roles/datastore.user threefactor granted dedup: resource.name == \"" + project + "/databases/granted--dedup\"",
				role + " threefactor table orders: resource.name == \"" + table + "\"",
			}
			slices.Sort(want)
			if got := grants(s); !slices.Equal(got, want) {
				return fmt.Errorf("the account's bindings on the project:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, fn := range h.Fake.Functions() {
				if got := fn.GetServiceConfig().GetEnvironmentVariables()["THREEFACTOR_TABLE_ORDERS"]; lastSegment(fn.GetName()) == "granted" &&
					got != "firestore://"+table+"/documents/orders" {
					return fmt.Errorf("THREEFACTOR_TABLE_ORDERS = %q", got)
				}
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: config("read_write"), Check: check("roles/datastore.user")},
			{Config: config("read"), Check: check("roles/datastore.viewer")},
			{
				// The table's binding removed outside Terraform shows as drift; the apply grants it again.
				PreConfig: func() {
					p := h.Fake.Policy(project)
					p.Bindings = slices.DeleteFunc(p.Bindings, func(x *iampb.Binding) bool { return x.GetCondition().GetTitle() == "threefactor table orders" })
					if err := h.SetProjectPolicy(context.Background(), p); err != nil {
						t.Fatal(err)
					}
				},
				Config: config("read"), PlanOnly: true, ExpectNonEmptyPlan: true,
			},
			{Config: config("read"), Check: check("roles/datastore.viewer")},
			{Config: config("write"), PlanOnly: true, ExpectError: regexpSpaced(`function.tables\["orders"\]: access must be "read" or "read_write", got "write"`)},
		},
	})
}

func lastSegment(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// TestAccTopicGCP_invalid: topic, table, filter and grant settings Google cannot take are refused at
// plan on the attribute, saying what is allowed.
func TestAccTopicGCP_invalid(t *testing.T) {
	b := gcpBackend(t)
	testPlanRefuses(t, b, []planRefusal{
		{"retention", `resource "threefactor_topic" "t" {
  name           = "orders"
  cloud          = "gcp"
  retention_days = 32
}`, `retention_days must be between 1 and 31 days on gcp (Pub/Sub keeps a topic's messages 31 days at most), got 32`},
		{"tableKey", `resource "threefactor_table" "t" {
  name  = "orders"
  cloud = "gcp"
  key   = "order_id"
}`, `key is not available on gcp: a Firestore document's id is its key`},
		{"tableTags", `resource "threefactor_table" "t" {
  name  = "orders"
  cloud = "gcp"
  tags  = { team = "orders" }
}`, `tags are not available on a table on gcp: Firestore databases take no labels`},
		{"tableName", `resource "threefactor_table" "t" {
  name  = "abc"
  cloud = "gcp"
}`, `A table's name must`},
		{"filterTooLong", `resource "threefactor_eventhandler" "h" {
  name     = "handler"
  cloud    = "gcp"
  function = { runtime = "nodejs22", source_dir = "."}
  trigger  = { kind = "topic", filter = { type = ["` + strings.Repeat("a", 120) + `", "` + strings.Repeat("b", 120) + `"] } }
}`, `characters as gcp writes it; at most 256 are allowed (a Pub/Sub subscription filter is at most 256 bytes)`},
		{"filterKey", `resource "threefactor_eventhandler" "h" {
  name     = "handler"
  cloud    = "gcp"
  function = { runtime = "nodejs22", source_dir = "."}
  trigger  = { kind = "topic", filter = { "ce-type" = ["a"] } }
}`, `trigger.filter["ce-type"]: on gcp a filter matches attributes named by letters, digits and underscores`},
		{"tableIDOfAWS", `resource "threefactor_eventhandler" "h" {
  name     = "handler"
  cloud    = "gcp"
  function = { runtime = "nodejs22", source_dir = ".", tables = { orders = { table_id = "arn:aws:dynamodb:us-east-1:1:table/orders", access = "read" } } }
}`, `table_id must be a threefactor_table's table_id on gcp, projects/<project>/databases/<table>`},
	})
}
