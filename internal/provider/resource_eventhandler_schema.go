package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// defaultTimeout bounds create, update and delete; IAM propagation alone can take minutes on AWS.
const defaultTimeout = "10m"

func (r *eventHandlerResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computedID := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, Description: desc}
	}
	emptyMap := mapdefault.StaticValue(types.MapValueMust(types.StringType, map[string]attr.Value{}))
	resp.Schema = schema.Schema{
		Description: "One event handler: a function, the queue or topic subscription that triggers it, a dead-letter queue " +
			"that receives events once the retry budget is spent, and a dedup table with a TTL that the handler uses to drop " +
			"duplicate deliveries. Every component is created, updated, read for drift and deleted together.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:      true,
				Description:   "Import id of the handler: `<cloud>/<region>/<name>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true,
				Description: fmt.Sprintf("Handler name, 2-%d characters: lowercase letters, digits and single hyphens, starting with a letter. "+
					"Every component's name derives from it. Changing it replaces the handler.", spec.NameMaxLen),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"cloud": schema.StringAttribute{
				Required:      true,
				Description:   "Cloud the handler runs on: `aws` (`gcp` and `azure` are declared for later versions). Changing it replaces the handler.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"function": schema.SingleNestedAttribute{
				Required:    true,
				Description: "The function and its runtime settings.",
				Attributes: map[string]schema.Attribute{
					"runtime": schema.StringAttribute{
						Required:    true,
						Description: "Runtime: " + quoted(spec.RuntimeNames) + " (`go` is a custom runtime whose package holds an executable `bootstrap`).",
					},
					"entry_point": schema.StringAttribute{
						Optional: true, Computed: true,
						Description: "Function entry point. Defaults per runtime: `index.handler` for Node.js, `main.handler` for Python, `bootstrap` for go; required for Java (`Class::method`).",
					},
					"source_dir": schema.StringAttribute{
						Optional:    true,
						Description: "Directory whose files become the code package (zipped deterministically). Exactly one of `source_dir` and `source_zip`.",
					},
					"source_zip": schema.StringAttribute{
						Optional:    true,
						Description: "Path of a prebuilt zip file. Exactly one of `source_dir` and `source_zip`. At most 50 MB zipped and 250 MB unzipped on AWS.",
					},
					"memory_mb": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(spec.DefaultMemoryMB),
						Description: fmt.Sprintf("Memory in MB, %d by default; 128-10240 on AWS.", spec.DefaultMemoryMB),
					},
					"timeout_s": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(spec.DefaultTimeoutS),
						Description: fmt.Sprintf("Timeout of one invocation in seconds, %d by default; 1-900 on AWS.", spec.DefaultTimeoutS),
					},
					"architecture": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(spec.DefaultArchitecture),
						Description: "Instruction set: `x86_64` (default) or `arm64`.",
					},
					"environment": schema.MapAttribute{
						Optional: true, Computed: true, ElementType: types.StringType, Default: emptyMap,
						Description: "Environment variables, empty by default. Keys match `[a-zA-Z][a-zA-Z0-9_]+`; the platform's reserved keys and `THREEFACTOR_*` " +
							"(which the provider injects) are rejected; all variables together stay under 4 KB on AWS.",
					},
					"secret_environment": schema.MapAttribute{
						Optional: true, Computed: true, Sensitive: true, ElementType: types.StringType, Default: emptyMap,
						Description: "Environment variables whose values never show in plans or logs; same rules as `environment`, and no key in both.",
					},
					"max_concurrency": schema.Int64Attribute{
						Optional:    true,
						Description: "Most concurrent invocations the trigger starts, 2-1000 on AWS. Unset by default: the platform's own limit applies.",
					},
					"log_retention_days": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(spec.DefaultLogRetentionDays),
						Description: fmt.Sprintf("Days the function's logs are kept, %d by default; one of the values CloudWatch Logs accepts on AWS "+
							"(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653). "+
							"The log group is created and deleted with the handler.", spec.DefaultLogRetentionDays),
					},
				},
			},
			"trigger": schema.SingleNestedAttribute{
				Optional: true, Computed: true,
				Default:     objectdefault.StaticValue(defaultObject(triggerAttrTypes, triggerDefaults)),
				Description: "What feeds the function. By default a queue created for the handler.",
				Attributes: map[string]schema.Attribute{
					"kind": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(string(spec.Queue)),
						Description: "`queue` (default): the handler consumes a queue. `topic`: the handler's queue is subscribed to a fan-out topic. " +
							"Changing it swaps the trigger components in place, keeping the function and the dedup table.",
					},
					"source": schema.StringAttribute{
						Optional: true,
						Description: "Id of an existing standard queue (`kind = \"queue\"`) or topic (`kind = \"topic\"`) to consume, in the provider's region: " +
							"an ARN on AWS. Unset by default: the provider creates one. An adopted queue gets the redrive policy and visibility timeout " +
							"the handler needs; its previous values are restored on destroy. FIFO sources are not supported yet.",
					},
					"batch_size": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(spec.DefaultBatchSize),
						Description: fmt.Sprintf("Most events per invocation, %d by default; 1-10000 on AWS, above 10 only with `batch_window_s` of at least 1.", spec.DefaultBatchSize),
					},
					"batch_window_s": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(spec.DefaultBatchWindowS),
						Description: "Seconds to gather a batch before invoking, 0 by default; 0-300 on AWS.",
					},
					"visibility_timeout_s": schema.Int64Attribute{
						Optional: true, Computed: true,
						Description: "Seconds a received event stays hidden from other consumers. Defaults to 6 × `function.timeout_s` + `batch_window_s` " +
							"(AWS's advice), capped at 43200; never below `function.timeout_s`.",
					},
				},
			},
			"retry": settingObject("The retry budget.", "max_attempts", spec.DefaultMaxAttempts,
				fmt.Sprintf("Deliveries of an event before it moves to the dead-letter queue, %d by default; 1-1000 on AWS. "+
					"`max_attempts` × `trigger.visibility_timeout_s` must fit in the queue's retention (`dead_letter.retention_days`).", spec.DefaultMaxAttempts)),
			"dead_letter": settingObject("The dead-letter queue.", "retention_days", spec.DefaultRetentionDays,
				fmt.Sprintf("Days the dead-letter queue keeps an event, %d by default; 1-14 on AWS. The source queue's retention "+
					"is set to the same, since a dead-lettered message keeps its original enqueue time.", spec.DefaultRetentionDays)),
			"dedup": settingObject("The dedup table.", "ttl_s", spec.DefaultDedupTTLS,
				fmt.Sprintf("Seconds a dedup record lives, %d (one day) by default; 60-31536000. A warning is shown below the "+
					"redelivery window (`retry.max_attempts` × `trigger.visibility_timeout_s`).", spec.DefaultDedupTTLS)),
			"tags": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				Description: "Tags for every taggable component. Keys starting with `threefactor:` are reserved.",
				Validators:  []validator.Map{mapvalidator.KeysAre(notPrefixed(spec.TagPrefix))},
			},
			"tags_all": schema.MapAttribute{
				Computed: true, ElementType: types.StringType,
				Description: "`tags` merged over the provider's `default_tags`: what the components carry, less the reserved `threefactor:*` tags.",
			},
			"timeouts": schema.SingleNestedAttribute{
				Optional: true, Computed: true,
				Default:     objectdefault.StaticValue(defaultTimeouts),
				Description: "How long each operation may take, as a Go duration (`30s`, `10m`).",
				Attributes: map[string]schema.Attribute{
					"create": timeoutAttribute("create"),
					"update": timeoutAttribute("update"),
					"delete": timeoutAttribute("delete"),
				},
			},
			"source_hash":       computedID("Hex sha256 of the deterministic zip of the code, known at plan time."),
			"function_id":       computedID("Cloud id of the function (its ARN on AWS)."),
			"trigger_source_id": computedID("Cloud id of the queue or topic the handler consumes (an ARN on AWS)."),
			"publish_target":    computedID("What a producer passes to the send API: the queue URL for `kind = \"queue\"`, the topic ARN for `kind = \"topic\"`."),
			"dead_letter_id":    computedID("Cloud id of the dead-letter queue (its ARN on AWS)."),
			"dedup_table_id":    computedID("Cloud id of the dedup table (its ARN on AWS)."),
			"identity_id":       computedID("Identity the function runs as (the IAM role ARN on AWS). Attach permissions for the handler's own business writes to it."),
			"components": schema.MapAttribute{
				Computed: true, ElementType: types.StringType,
				Description: "Cloud id of every component the handler owns, keyed by component (`identity`, `logs`, `function`, `topic`, `queue`, " +
					"`subscription`, `mapping`, `dead_letter`, `dedup_table`). A component deleted outside Terraform shows here as a planned change.",
			},
		},
	}
}

// settingObject is an optional object holding one integer setting with a default: the object's own
// default lists it, since the framework applies nested defaults only inside a present object.
func settingObject(desc, attrName string, def int64, attrDesc string) schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true, Computed: true,
		Default:     objectdefault.StaticValue(defaultObject(map[string]attr.Type{attrName: types.Int64Type}, map[string]attr.Value{attrName: types.Int64Value(def)})),
		Description: desc,
		Attributes: map[string]schema.Attribute{
			attrName: schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(def), Description: attrDesc,
			},
		},
	}
}

func timeoutAttribute(op string) schema.StringAttribute {
	return schema.StringAttribute{
		Optional: true, Computed: true, Default: stringdefault.StaticString(defaultTimeout),
		Description: fmt.Sprintf("Longest %s, %s by default.", op, defaultTimeout),
		Validators:  []validator.String{duration{}},
	}
}

var (
	functionAttrTypes = map[string]attr.Type{
		"runtime": types.StringType, "entry_point": types.StringType, "source_dir": types.StringType, "source_zip": types.StringType,
		"memory_mb": types.Int64Type, "timeout_s": types.Int64Type, "architecture": types.StringType,
		"environment": types.MapType{ElemType: types.StringType}, "secret_environment": types.MapType{ElemType: types.StringType},
		"max_concurrency": types.Int64Type, "log_retention_days": types.Int64Type,
	}
	triggerAttrTypes = map[string]attr.Type{
		"kind": types.StringType, "source": types.StringType, "batch_size": types.Int64Type,
		"batch_window_s": types.Int64Type, "visibility_timeout_s": types.Int64Type,
	}
	triggerDefaults = map[string]attr.Value{
		"kind": types.StringValue(string(spec.Queue)), "source": types.StringNull(),
		"batch_size": types.Int64Value(spec.DefaultBatchSize), "batch_window_s": types.Int64Value(spec.DefaultBatchWindowS),
		// Derived from the function's timeout in ModifyPlan.
		"visibility_timeout_s": types.Int64Null(),
	}
	retryAttrTypes      = map[string]attr.Type{"max_attempts": types.Int64Type}
	deadLetterAttrTypes = map[string]attr.Type{"retention_days": types.Int64Type}
	dedupAttrTypes      = map[string]attr.Type{"ttl_s": types.Int64Type}
	timeoutsAttrTypes   = map[string]attr.Type{"create": types.StringType, "update": types.StringType, "delete": types.StringType}
	defaultTimeouts     = defaultObject(timeoutsAttrTypes, map[string]attr.Value{
		"create": types.StringValue(defaultTimeout), "update": types.StringValue(defaultTimeout), "delete": types.StringValue(defaultTimeout),
	})
)

func defaultObject(types_ map[string]attr.Type, values map[string]attr.Value) types.Object {
	return types.ObjectValueMust(types_, values)
}

// duration checks a Go duration string.
type duration struct{}

func (duration) Description(context.Context) string {
	return "must be a positive Go duration such as \"30s\" or \"10m\""
}
func (d duration) MarkdownDescription(ctx context.Context) string { return d.Description(ctx) }

func (d duration) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if v, err := time.ParseDuration(req.ConfigValue.ValueString()); err != nil || v <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%q %s.", strings.TrimSpace(req.ConfigValue.ValueString()), d.Description(ctx)))
	}
}
