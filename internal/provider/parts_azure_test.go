package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions/azuretest"
)

const (
	sbAPI     = "?api-version=2021-11-01"
	cosmosAPI = "?api-version=2024-05-15"
	webAPI    = "?api-version=2023-12-01"
)

// azureOrders is the import id of a part named orders on the azure backend b.
func azureOrders(b *backend) string {
	h := b.Harness.(*azuretest.Harness)
	return "azure/" + h.Fake.Subscription() + "/" + h.Fake.ResourceGroup() + "/orders"
}

func TestAccTopicAzure_basic(t *testing.T) {
	b := azureBackend(t)
	h := b.Harness.(*azuretest.Harness)
	ctx := context.Background()
	config := func(body string) string {
		return b.provider + `
resource "threefactor_topic" "orders" {
  name  = "orders"
  cloud = "azure"
  ` + body + `
}
`
	}
	var id string
	topicRE := regexp.MustCompile(`^/subscriptions/[^/]+/resourceGroups/threefactor-test/providers/Microsoft\.ServiceBus/namespaces/(orders-[a-z2-7]{8})/topics/orders$`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: config(`tags = { team = "orders" }`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_topic.orders", "id", azureOrders(b)),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "encrypted", "true"),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "retention_days", "14"),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "tags_all.team", "orders"),
				func(s *terraform.State) error {
					id = attrOf(s, "threefactor_topic.orders", "topic_id")
					m := topicRE.FindStringSubmatch(id)
					if m == nil {
						return fmt.Errorf("topic_id %q: want the topic in a namespace of its own", id)
					}
					if got, want := attrOf(s, "threefactor_topic.orders", "publish_target"), m[1]+".servicebus.windows.net/orders"; got != want {
						return fmt.Errorf("publish_target %q, want %q", got, want)
					}
					ns, ok := h.Fake.Resource(id[:strings.Index(id, "/topics/")])
					if !ok || ns["sku"].(map[string]any)["name"] != "Standard" || ns["properties"].(map[string]any)["disableLocalAuth"] != true {
						return fmt.Errorf("namespace %v: want Standard with local auth off", ns)
					}
					if got := ns["tags"].(map[string]any)["team"]; got != "orders" {
						return fmt.Errorf("namespace tag team = %v, want orders", got)
					}
					topic, _ := h.Fake.Resource(id)
					if ttl := topic["properties"].(map[string]any)["defaultMessageTimeToLive"]; ttl != "P14D" {
						return fmt.Errorf("topic TTL %v, want P14D", ttl)
					}
					return nil
				},
			),
		}, {
			Config: config(`tags = { team = "payments" }
  retention_days = 7`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_topic.orders", "tags.team", "payments"),
				resource.TestCheckResourceAttr("threefactor_topic.orders", "retention_days", "7"),
				resource.TestCheckResourceAttrPtr("threefactor_topic.orders", "topic_id", &id),
			),
		}, {
			ResourceName: "threefactor_topic.orders", ImportState: true, ImportStateIdFunc: func(*terraform.State) (string, error) {
				return azureOrders(b), nil
			}, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"force_destroy"},
		}, {
			// The TTL changed outside Terraform shows as a change and is put back in place.
			PreConfig: func() {
				if err := h.Call(ctx, http.MethodPut, id+sbAPI, `{"properties":{"defaultMessageTimeToLive":"P3D"}}`); err != nil {
					t.Fatal(err)
				}
			},
			Config: config(`tags = { team = "payments" }
  retention_days = 7`),
			PlanOnly: true, ExpectNonEmptyPlan: true,
		}, {
			Config: config(`tags = { team = "payments" }
  retention_days = 7`),
			Check: func(*terraform.State) error {
				topic, _ := h.Fake.Resource(id)
				if ttl := topic["properties"].(map[string]any)["defaultMessageTimeToLive"]; ttl != "P7D" {
					return fmt.Errorf("topic TTL %v after apply, want P7D", ttl)
				}
				return nil
			},
		}},
	})
}

// TestAccTopicAzure_subscribers: a topic another configuration subscribes to is not destroyed
// without force_destroy, and the error names the subscription.
func TestAccTopicAzure_subscribers(t *testing.T) {
	b := azureBackend(t)
	h := b.Harness.(*azuretest.Harness)
	config := func(force bool) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_topic" "shared" {
  name          = "shared"
  cloud         = "azure"
  force_destroy = %t
}
`, force)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: config(false), Check: func(s *terraform.State) error {
				return h.Call(context.Background(), http.MethodPut, attrOf(s, "threefactor_topic.shared", "topic_id")+"/subscriptions/elsewhere"+sbAPI, `{"properties":{}}`)
			}},
			{Config: config(false), Destroy: true, ExpectError: regexpSpaced(`(?s)Deleting topic.*still holds subscription elsewhere.*force_destroy = true`)},
			{Config: config(true)},
		},
	})
}

// TestAccTopicAzure_fanOut applies one topic and three handlers subscribed to it, one with a
// filter, and publishes events through the fake: exactly the subscriptions whose rules match take
// a copy, read as each subscription's message count (the fake delivers nothing to the functions).
// The handlers adopt the topic's namespace for their subscriptions and dead-letter queues, and
// create no namespace of their own.
func TestAccTopicAzure_fanOut(t *testing.T) {
	b := azureBackend(t)
	h := b.Harness.(*azuretest.Harness)
	ctx := context.Background()
	src := sourceDir(t)
	handler := func(name, filter string) string {
		return fmt.Sprintf(`
resource "threefactor_eventhandler" %[1]q {
  name     = %[1]q
  cloud    = "azure"
  function = { runtime = "nodejs22", source_dir = %[2]q }
  trigger  = { kind = "topic", source = threefactor_topic.orders.topic_id%[3]s }
}
`, name, src, filter)
	}
	config := func(filter string) string {
		return b.provider + `
resource "threefactor_topic" "orders" {
  name  = "orders"
  cloud = "azure"
}
` + handler("audit", "") + handler("billing", filter) + handler("shipping", `, filter = { type = ["order.paid"] }`)
	}
	seen := map[string]float64{}
	publish := func(eventType string, want map[string]int) func(*terraform.State) error {
		return func(s *terraform.State) error {
			if _, err := h.Fake.Publish(attrOf(s, "threefactor_topic.orders", "topic_id"), map[string]string{"type": eventType}); err != nil {
				return err
			}
			for name, n := range want {
				sub, ok := h.Fake.Resource(attrOf(s, "threefactor_eventhandler."+name, "components.subscription"))
				if !ok {
					return fmt.Errorf("%s: no subscription", name)
				}
				count := sub["properties"].(map[string]any)["messageCount"].(float64)
				if got := count - seen[name]; got != float64(n) {
					return fmt.Errorf("%s: took %v messages of type %s, want %d", name, got, eventType, n)
				}
				seen[name] = count
			}
			return nil
		}
	}
	var billingSub string
	filter := `, filter = { type = ["order.created", "order.cancelled"] }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: config(filter),
			Check: resource.ComposeTestCheckFunc(
				publish("order.created", map[string]int{"audit": 1, "billing": 1, "shipping": 0}),
				publish("order.paid", map[string]int{"audit": 1, "billing": 0, "shipping": 1}),
				func(s *terraform.State) error {
					billingSub = attrOf(s, "threefactor_eventhandler.billing", "components.subscription")
					topic := attrOf(s, "threefactor_topic.orders", "topic_id")
					ns := topic[:strings.Index(topic, "/topics/")]
					for _, name := range []string{"audit", "billing", "shipping"} {
						addr := "threefactor_eventhandler." + name
						if got := attrOf(s, addr, "components.namespace"); !strings.EqualFold(got, ns) {
							return fmt.Errorf("%s uses namespace %s, want the topic's %s", name, got, ns)
						}
						if got := attrOf(s, addr, "components.dead_letter"); !strings.EqualFold(got, ns+"/queues/"+name+"--dlq") {
							return fmt.Errorf("%s dead-letter queue %s, want it in the topic's namespace", name, got)
						}
					}
					rule, ok := h.Fake.Resource(billingSub + "/rules/threefactor-filter")
					if !ok {
						return fmt.Errorf("billing: no filter rule")
					}
					if expr := rule["properties"].(map[string]any)["sqlFilter"].(map[string]any)["sqlExpression"]; expr != "type IN ('order.created', 'order.cancelled')" {
						return fmt.Errorf("billing filter %q", expr)
					}
					if _, ok := h.Fake.Resource(billingSub + "/rules/$Default"); ok {
						return fmt.Errorf("billing keeps $Default beside its filter, which would take every message")
					}
					return nil
				},
			),
		}, {
			// Import of a handler on the topic (an adopted source in another namespace) finds its
			// subscription, its dead-letter queue in the topic's namespace, and its filter.
			ResourceName: "threefactor_eventhandler.billing", ImportState: true, ImportStateVerify: true,
			ImportStateIdFunc: func(*terraform.State) (string, error) {
				return strings.TrimSuffix(azureOrders(b), "orders") + "billing", nil
			},
			ImportStateVerifyIgnore: []string{"function.source_dir"},
		}, {
			// A filter changed outside Terraform shows as drift and is put back in place.
			PreConfig: func() {
				if err := h.Call(ctx, http.MethodPut, billingSub+"/rules/threefactor-filter"+sbAPI,
					`{"properties":{"filterType":"SqlFilter","sqlFilter":{"sqlExpression":"type = 'order.paid'"}}}`); err != nil {
					t.Fatal(err)
				}
			},
			Config: config(filter), PlanOnly: true, ExpectNonEmptyPlan: true,
		}, {
			Config: config(filter),
			Check:  publish("order.cancelled", map[string]int{"audit": 1, "billing": 1, "shipping": 0}),
		}, {
			// Removing the filter updates the subscription in place ($Default again): billing gets everything.
			Config: config(""),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttrPtr("threefactor_eventhandler.billing", "components.subscription", &billingSub),
				publish("order.paid", map[string]int{"audit": 1, "billing": 1, "shipping": 1}),
			),
		}},
	})
}

func TestAccTableAzure_basic(t *testing.T) {
	b := azureBackend(t)
	h := b.Harness.(*azuretest.Harness)
	ctx := context.Background()
	config := func(body string) string {
		return b.provider + `
resource "threefactor_table" "orders" {
  name  = "orders"
  cloud = "azure"
  ` + body + `
}
`
	}
	var id string
	tableRE := regexp.MustCompile(`^/subscriptions/[^/]+/resourceGroups/threefactor-test/providers/Microsoft\.DocumentDB/databaseAccounts/orders-[a-z2-7]{8}/sqlDatabases/orders_table/containers/orders$`)
	container := func(check func(res map[string]any) error) func(*terraform.State) error {
		return func(*terraform.State) error {
			c, ok := h.Fake.Resource(id)
			if !ok {
				return fmt.Errorf("no container %s", id)
			}
			return check(c["properties"].(map[string]any)["resource"].(map[string]any))
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: config(`key = "order_id"
  ttl_attribute = "ttl"
  tags = { team = "orders" }`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("threefactor_table.orders", "id", azureOrders(b)),
				resource.TestCheckResourceAttr("threefactor_table.orders", "key", "order_id"),
				func(s *terraform.State) error {
					if id = attrOf(s, "threefactor_table.orders", "table_id"); !tableRE.MatchString(id) {
						return fmt.Errorf("table_id %q: want a container in the table's own account", id)
					}
					acct, _ := h.Fake.Resource(id[:strings.Index(id, "/sqlDatabases/")])
					if p := acct["properties"].(map[string]any); p["disableLocalAuth"] != true || fmt.Sprint(p["capabilities"]) != "[map[name:EnableServerless]]" {
						return fmt.Errorf("account %v: want serverless with local auth off", p)
					}
					return nil
				},
				container(func(res map[string]any) error {
					if pk := fmt.Sprint(res["partitionKey"].(map[string]any)["paths"]); pk != "[/order_id]" || res["defaultTtl"] != float64(-1) {
						return fmt.Errorf("partition key %s, defaultTtl %v: want [/order_id] and -1 (per-item ttl)", pk, res["defaultTtl"])
					}
					return nil
				}),
			),
		}, {
			ResourceName: "threefactor_table.orders", ImportState: true, ImportStateIdFunc: func(*terraform.State) (string, error) {
				return azureOrders(b), nil
			}, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"force_destroy"},
		}, {
			// Expiry turned off outside Terraform shows as drift.
			PreConfig: func() {
				body := `{"tags":{"team":"orders","threefactor:table":"orders"},"properties":{"resource":{"id":"orders","partitionKey":{"paths":["/order_id"],"kind":"Hash"}}}}`
				if err := h.Call(ctx, http.MethodPut, id+cosmosAPI, body); err != nil {
					t.Fatal(err)
				}
			},
			Config: config(`key = "order_id"
  ttl_attribute = "ttl"
  tags = { team = "orders" }`),
			PlanOnly: true, ExpectNonEmptyPlan: true,
		}, {
			Config: config(`key = "order_id"
  tags = { team = "payments" }`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckNoResourceAttr("threefactor_table.orders", "ttl_attribute"),
				resource.TestCheckResourceAttr("threefactor_table.orders", "tags_all.team", "payments"),
				resource.TestCheckResourceAttrPtr("threefactor_table.orders", "table_id", &id),
				container(func(res map[string]any) error {
					if v, ok := res["defaultTtl"]; ok {
						return fmt.Errorf("defaultTtl %v: want none (items never expire)", v)
					}
					return nil
				}),
			),
		}},
	})
}

// TestAccTableAzure_items: a table that holds items is not destroyed without force_destroy.
func TestAccTableAzure_items(t *testing.T) {
	b := azureBackend(t)
	h := b.Harness.(*azuretest.Harness)
	config := func(force bool) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_table" "state" {
  name          = "state"
  cloud         = "azure"
  force_destroy = %t
}
`, force)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: config(false), Check: func(s *terraform.State) error {
				return h.PutItem(context.Background(), attrOf(s, "threefactor_table.state", "table_id"), "order-1")
			}},
			{Config: config(false), Destroy: true, ExpectError: regexpSpaced(`(?s)Deleting table.*holds 1 item\(s\).*force_destroy = true`)},
			{Config: config(true)},
		},
	})
}

// TestAccTableAzure_grants: function.tables assigns the handler's identity the built-in Cosmos DB
// data role of its access, scoped to exactly the table's container, and injects
// THREEFACTOR_TABLE_<NAME>; changing the access replaces the assignment in place of the handler.
func TestAccTableAzure_grants(t *testing.T) {
	b := azureBackend(t)
	h := b.Harness.(*azuretest.Harness)
	ctx := context.Background()
	src := sourceDir(t)
	config := func(access string) string {
		return b.provider + fmt.Sprintf(`
resource "threefactor_table" "orders" {
  name  = "orders"
  cloud = "azure"
}

resource "threefactor_eventhandler" "test" {
  name  = "granted"
  cloud = "azure"
  function = {
    runtime    = "nodejs22"
    source_dir = %q
    tables     = { orders = { table_id = threefactor_table.orders.table_id, access = %q } }
  }
}
`, src, access)
	}
	check := func(role string) func(*terraform.State) error {
		return func(s *terraform.State) error {
			table := attrOf(s, "threefactor_table.orders", "table_id")
			account := table[:strings.Index(table, "/sqlDatabases/")]
			identity, _ := h.Fake.Resource(attrOf(s, "threefactor_eventhandler.test", "identity_id"))
			principal := identity["properties"].(map[string]any)["principalId"]
			var grants []string
			for _, r := range h.Fake.Leftovers() {
				id, isAssignment := strings.CutPrefix(r, "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments ")
				if !isAssignment || !strings.HasPrefix(strings.ToLower(id), strings.ToLower(account)+"/") {
					continue
				}
				a, _ := h.Fake.Resource(id)
				p := a["properties"].(map[string]any)
				grants = append(grants, fmt.Sprintf("%v %v %v", p["principalId"], p["roleDefinitionId"], p["scope"]))
			}
			want := fmt.Sprintf("%v %s/sqlRoleDefinitions/%s %s/dbs/orders_table/colls/orders", principal, account, role, account)
			if len(grants) != 1 || !strings.EqualFold(grants[0], want) {
				return fmt.Errorf("SQL role assignments in the table's account: %q, want exactly %q", grants, want)
			}
			settings, err := h.Do(ctx, http.MethodPost, attrOf(s, "threefactor_eventhandler.test", "function_id")+"/config/appsettings/list"+webAPI, "")
			if err != nil {
				return err
			}
			wantURL := "cosmos://" + account[strings.LastIndex(account, "/")+1:] + ".documents.azure.com/orders_table/orders"
			if got := settings["properties"].(map[string]any)["THREEFACTOR_TABLE_ORDERS"]; got != wantURL {
				return fmt.Errorf("THREEFACTOR_TABLE_ORDERS = %v, want %s", got, wantURL)
			}
			return nil
		}
	}
	var fn string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: config("read_write"), Check: resource.ComposeTestCheckFunc(
				check("00000000-0000-0000-0000-000000000002"), // Cosmos DB Built-in Data Contributor
				func(s *terraform.State) error {
					fn = attrOf(s, "threefactor_eventhandler.test", "function_id")
					return nil
				},
			)},
			{Config: config("read"), Check: resource.ComposeTestCheckFunc(
				check("00000000-0000-0000-0000-000000000001"), // Cosmos DB Built-in Data Reader
				resource.TestCheckResourceAttrPtr("threefactor_eventhandler.test", "function_id", &fn),
			)},
		},
	})
}

// TestAccTopicAzure_invalid: azure's limits of topics, tables, filters and grants are refused at
// plan on the attribute, saying what is allowed.
func TestAccTopicAzure_invalid(t *testing.T) {
	b := azureBackend(t)
	long := strings.Repeat("x", 1030)
	var tags []string
	for i := range 15 {
		tags = append(tags, fmt.Sprintf("t%d = \"v\"", i))
	}
	manyTags := strings.Join(tags, ", ")
	testPlanRefuses(t, b, []planRefusal{
		{"retention", `resource "threefactor_topic" "t" {
  name           = "orders"
  cloud          = "azure"
  retention_days = 400
}`, `retention_days must be between 1 and 365 days on azure`},
		{"topicName", `resource "threefactor_topic" "t" {
  name  = "` + strings.Repeat("a", 42) + `"
  cloud = "azure"
}`, `A topic's name must be`},
		{"ttlAttribute", `resource "threefactor_table" "t" {
  name          = "orders"
  cloud         = "azure"
  ttl_attribute = "expires"
}`, `ttl_attribute must be "ttl" on azure, got "expires": Cosmos DB expires an item by its own ttl property`},
		{"tableKey", `resource "threefactor_table" "t" {
  name  = "orders"
  cloud = "azure"
  key   = "_ts"
}`, `do not start with _`},
		{"tableTags", `resource "threefactor_table" "t" {
  name  = "orders"
  cloud = "azure"
  tags  = { ` + manyTags + ` }
}`, `A table takes at most 14 tags on azure, default_tags included (a Cosmos DB container takes 15 tags, one of them the provider's threefactor:table); got 15.`},
		{"filterTooLong", `resource "threefactor_eventhandler" "h" {
  name     = "h"
  cloud    = "azure"
  function = { runtime = "nodejs22", source_dir = "."}
  trigger  = { kind = "topic", filter = { type = ["` + long + `"] } }
}`, `as azure writes it; at most 1024 are allowed (a Service Bus SQL filter expression is at most 1024 characters)`},
		{"tableIDAsGrant", `resource "threefactor_eventhandler" "h" {
  name     = "h"
  cloud    = "azure"
  function = { runtime = "nodejs22", source_dir = ".", tables = { orders = { table_id = "` + azureOrders(b) + `", access = "read" } } }
}`, `is a threefactor_table's id (its import id); pass its table_id instead.`},
		{"tableIDNotContainer", `resource "threefactor_eventhandler" "h" {
  name     = "h"
  cloud    = "azure"
  function = { runtime = "nodejs22", source_dir = ".", tables = { orders = { table_id = "orders", access = "read" } } }
}`, `table_id must be the ARM id of a Cosmos DB container`},
	})
}
