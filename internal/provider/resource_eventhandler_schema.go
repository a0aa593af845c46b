package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// perCloud points to the generated table of the resource's docs.
const perCloud = " Default and limits per cloud: see \"Defaults and limits per cloud\"."

func (r *eventHandlerResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computedID := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, Description: desc}
	}
	// Settings whose defaults differ per cloud have none in the schema (a schema default cannot depend
	// on another attribute): ModifyPlan fills them from the handler's cloud, so the plan shows them.
	perCloudInt := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Optional: true, Computed: true, Description: desc + perCloud}
	}
	emptyMap := mapdefault.StaticValue(types.MapValueMust(types.StringType, map[string]attr.Value{}))
	resp.Schema = schema.Schema{
		Description: "One event handler: a function, the queue or topic subscription that triggers it, a dead-letter queue " +
			"that receives events once the retry budget is spent, and a dedup table with a TTL that the handler uses to drop " +
			"duplicate deliveries. Every component is created, updated, read for drift and deleted together.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:      true,
				Description:   "Import id of the handler: `<cloud>/<scope>/<name>`, the scope being the cloud's (see Import).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true,
				Description: "Handler name: lowercase letters, digits and single hyphens, starting with a letter; its longest length is the cloud's. " +
					"Every component's name derives from it. Changing it replaces the handler.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"cloud": schema.StringAttribute{
				Required:      true,
				Description:   "Cloud the handler runs on: " + r.clouds.names() + ". Changing it replaces the handler.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"function": schema.SingleNestedAttribute{
				Required:    true,
				Description: "The function and its runtime settings.",
				Attributes: map[string]schema.Attribute{
					"runtime": schema.StringAttribute{
						Required:    true,
						Description: "Runtime: " + quoted(spec.RuntimeNames) + " (`go` is a custom runtime whose package holds an executable `bootstrap` on AWS). Which a cloud offers: see \"Defaults and limits per cloud\".",
					},
					"entry_point": schema.StringAttribute{
						Optional: true, Computed: true,
						Description: "Function entry point. Defaults per runtime and cloud (on AWS: `index.handler` for Node.js, `main.handler` for Python, `bootstrap` for go); required for Java (`Class::method`).",
					},
					"source_dir": schema.StringAttribute{
						Optional:    true,
						Description: "Directory whose files become the code package (zipped deterministically). Exactly one of `source_dir` and `source_zip`.",
					},
					"source_zip": schema.StringAttribute{
						Optional:    true,
						Description: "Path of a prebuilt zip file. Exactly one of `source_dir` and `source_zip`. Size limits per cloud: see \"Defaults and limits per cloud\".",
					},
					"memory_mb": perCloudInt("Memory in MB."),
					"timeout_s": perCloudInt("Timeout of one invocation in seconds."),
					"architecture": schema.StringAttribute{
						Optional: true, Computed: true,
						Description: "Instruction set, on clouds that let you choose it (null elsewhere)." + perCloud,
					},
					"environment": schema.MapAttribute{
						Optional: true, Computed: true, ElementType: types.StringType, Default: emptyMap,
						Description: "Environment variables, empty by default. Keys match `[a-zA-Z][a-zA-Z0-9_]+`; the platform's reserved keys and `THREEFACTOR_*` " +
							"(which the provider injects) are rejected; all variables together stay within the cloud's limit.",
					},
					"secret_environment": schema.MapAttribute{
						Optional: true, Computed: true, Sensitive: true, ElementType: types.StringType, Default: emptyMap,
						Description: "Environment variables whose values never show in plans or logs; same rules as `environment`, and no key in both.",
					},
					"max_concurrency": schema.Int64Attribute{
						Optional:    true,
						Description: "Most concurrent invocations the trigger starts. Unset by default: the platform's own limit applies." + perCloud,
					},
					"log_retention_days": perCloudInt("Days the function's logs are kept, on clouds that keep them in a place of the handler's own (AWS's log group, Azure's Log Analytics workspace; null elsewhere). " +
						"It is created and deleted with the handler."),
					"tables": schema.MapNestedAttribute{
						Optional: true,
						Description: "The app's tables the function reads or writes, by the name the code finds each under (lowercase letters, digits and " +
							"underscores): the function's identity gets exactly that access on exactly that table, and the table's store URL is injected as " +
							"`THREEFACTOR_TABLE_<NAME>`, which the runtime library opens by the name. Updated in place.",
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"table_id": schema.StringAttribute{Required: true, Description: "A `threefactor_table`'s `table_id`."},
							"access": schema.StringAttribute{Required: true, Description: "`read` or `read_write`: the data-plane operations each allows are listed in the guide " +
								"\"Fan-out and state with topics and tables\"."},
						}},
					},
				},
			},
			"trigger": schema.SingleNestedAttribute{
				Optional: true, Computed: true,
				Description: "What feeds the function. By default a queue created for the handler.",
				Attributes: map[string]schema.Attribute{
					"kind": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(string(spec.Queue)),
						Description: "`queue` (default): the handler consumes a queue. `topic`: the handler's queue is subscribed to a fan-out topic. " +
							"Changing it swaps the trigger components in place, keeping the function and the dedup table; the plan warns that messages not yet delivered are dropped with the old trigger.",
					},
					"source": schema.StringAttribute{
						Optional: true,
						Description: "Id of an existing standard queue (`kind = \"queue\"`) or topic (`kind = \"topic\"`) to consume, in the provider's region: " +
							"an ARN on AWS, `projects/<project>/topics/<topic>` on Google. Unset by default: the provider creates one. On AWS an adopted queue gets the redrive policy and visibility timeout " +
							"the handler needs; its previous values are restored on destroy. FIFO sources are not supported yet.",
					},
					"enabled": schema.BoolAttribute{
						Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						Description: "Whether events are delivered to the function, `true` by default. `false` pauses delivery without destroying " +
							"anything (during an incident, or where a local runner delivers instead): events wait in the trigger, within its " +
							"retention, until it is `true` again. Updated in place; a pause made outside Terraform shows as drift.",
					},
					"filter": schema.MapAttribute{
						Optional: true, ElementType: types.ListType{ElemType: types.StringType},
						Description: "For `kind = \"topic\"`: only the messages whose attributes match reach the handler. Each key is a message attribute " +
							"(such as the CloudEvents `type` a producer sets) and its list the values that match; every key must match. Unset, every message " +
							"matches. Checked at plan against the cloud's filter limits; updated in place where the cloud allows.",
					},
					"batch_size":     perCloudInt("Most events per invocation."),
					"batch_window_s": perCloudInt("Seconds to gather a batch before invoking, on clouds that batch (null elsewhere)."),
					"visibility_timeout_s": perCloudInt("Seconds a received event stays hidden from other consumers before it is redelivered " +
						"(what it becomes per cloud is in the table). Defaults to the cloud's factor × `function.timeout_s` + `batch_window_s`; never below `function.timeout_s`."),
				},
			},
			"retry": schema.SingleNestedAttribute{
				Optional: true, Computed: true,
				Description: "The retry budget.",
				Attributes: map[string]schema.Attribute{
					"max_attempts": perCloudInt("Deliveries of an event before it moves to the dead-letter queue."),
					"min_backoff_s": perCloudInt("Seconds before a failed delivery is retried, on clouds with a retry policy of their own " +
						"(null elsewhere, where the visibility timeout sets the wait)."),
				},
			},
			"dead_letter": settingObject("The dead-letter queue.", "retention_days",
				"Days the dead-letter queue keeps an event. On AWS the source queue's retention is set to the same, since a dead-lettered message keeps its original enqueue time."),
			"dedup": settingObject("The dedup table.", "ttl_s",
				"Seconds a dedup record lives. A warning is shown below the redelivery window (`retry.max_attempts` × `trigger.visibility_timeout_s`)."),
			"tags": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				Description: "Tags (labels) for every taggable component, checked against the cloud's key and value rules. The cloud's handler tag key is reserved.",
			},
			"tags_all": schema.MapAttribute{
				Computed: true, ElementType: types.StringType,
				Description: "`tags` merged over the provider's `default_tags`: what the components carry, less the reserved handler tag.",
			},
			"timeouts": schema.SingleNestedAttribute{
				Optional: true, Computed: true,
				Description: "How long each operation may take, as a Go duration (`30s`, `10m`). Defaults per cloud: see \"Defaults and limits per cloud\".",
				Attributes: map[string]schema.Attribute{
					"create": timeoutAttribute("create"),
					"update": timeoutAttribute("update"),
					"delete": timeoutAttribute("delete"),
				},
			},
			"source_hash":       computedID("Hex sha256 of the deterministic zip of the code, known at plan time."),
			"function_id":       computedID("Cloud id of the function (its ARN on AWS, its resource name on Google)."),
			"trigger_source_id": computedID("Cloud id of the queue or topic the handler consumes (an ARN on AWS, a topic name on Google)."),
			"publish_target":    computedID("What a producer passes to the send API: on AWS the queue URL for `kind = \"queue\"` and the topic ARN for `kind = \"topic\"`; on Google the topic to publish to."),
			"dead_letter_id":    computedID("Cloud id of the dead-letter queue (its ARN on AWS, the dead-letter topic on Google)."),
			"dedup_table_id":    computedID("Cloud id of the dedup table (its ARN on AWS, the Firestore database on Google)."),
			"identity_id":       computedID("Identity the function runs as (the IAM role ARN on AWS, the service account's email on Google). Attach permissions for the handler's own business writes to it."),
			"components": schema.MapAttribute{
				Computed: true, ElementType: types.StringType,
				Description: "Cloud id of every component the handler owns, keyed by component (which components a cloud makes: see \"Defaults and limits per cloud\"). " +
					"A component deleted outside Terraform shows here as a planned change.",
			},
		},
	}
}

// settingObject is an optional object holding one integer setting whose default is the cloud's.
func settingObject(desc, attrName string, attrDesc string) schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true, Computed: true,
		Description: desc,
		Attributes: map[string]schema.Attribute{
			attrName: schema.Int64Attribute{Optional: true, Computed: true, Description: attrDesc + perCloud},
		},
	}
}

func timeoutAttribute(op string) schema.StringAttribute {
	return schema.StringAttribute{
		Optional: true, Computed: true,
		Description: fmt.Sprintf("Longest %s; the cloud's default when unset.", op),
		Validators:  []validator.String{duration{}},
	}
}

var (
	functionAttrTypes = map[string]attr.Type{
		"runtime": types.StringType, "entry_point": types.StringType, "source_dir": types.StringType, "source_zip": types.StringType,
		"memory_mb": types.Int64Type, "timeout_s": types.Int64Type, "architecture": types.StringType,
		"environment": types.MapType{ElemType: types.StringType}, "secret_environment": types.MapType{ElemType: types.StringType},
		"max_concurrency": types.Int64Type, "log_retention_days": types.Int64Type, "tables": tablesType,
	}
	grantAttrTypes   = map[string]attr.Type{"table_id": types.StringType, "access": types.StringType}
	tablesType       = types.MapType{ElemType: types.ObjectType{AttrTypes: grantAttrTypes}}
	filterType       = types.MapType{ElemType: types.ListType{ElemType: types.StringType}}
	triggerAttrTypes = map[string]attr.Type{
		"kind": types.StringType, "source": types.StringType, "enabled": types.BoolType, "batch_size": types.Int64Type,
		"batch_window_s": types.Int64Type, "visibility_timeout_s": types.Int64Type, "filter": filterType,
	}
	retryAttrTypes      = map[string]attr.Type{"max_attempts": types.Int64Type, "min_backoff_s": types.Int64Type}
	deadLetterAttrTypes = map[string]attr.Type{"retention_days": types.Int64Type}
	dedupAttrTypes      = map[string]attr.Type{"ttl_s": types.Int64Type}
	timeoutsAttrTypes   = map[string]attr.Type{"create": types.StringType, "update": types.StringType, "delete": types.StringType}
)
