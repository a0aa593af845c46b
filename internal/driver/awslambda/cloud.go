package awslambda

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Name is the cloud's name in configurations.
const Name spec.Cloud = "aws"

// HandlerTag names the handler on every component; TagPrefix is reserved for the provider.
const (
	TagPrefix  = "threefactor:"
	HandlerTag = TagPrefix + "handler"
)

// Cloud describes AWS to the provider.
var Cloud = &driver.Cloud{
	Name:       Name,
	Title:      "AWS",
	Components: components,
	Needs:      needs,
	Holds: map[driver.Component][]string{
		driver.Function: {"function.runtime", "function.entry_point", "source_hash", "function.memory_mb", "function.timeout_s",
			"function.architecture", "function.environment", "function.tables", "tags", "dedup.ttl_s"},
		driver.Logs:         {"function.log_retention_days"},
		driver.Mapping:      {"function.max_concurrency", "trigger.batch_size", "trigger.batch_window_s", "trigger.enabled"},
		driver.Queue:        {"trigger.visibility_timeout_s", "retry.max_attempts", "trigger.kind", "trigger.source"},
		driver.Topic:        {"trigger.kind", "trigger.source"},
		driver.Subscription: {"trigger.kind", "trigger.source", "trigger.filter"},
		driver.DeadLetter:   {"dead_letter.retention_days"},
		driver.DedupTable:   {"dedup.ttl_s"},
	},
	Rules: rules,
	Meaning: map[string]string{
		"function.timeout_s":           "Lambda timeout",
		"function.architecture":        "Lambda instruction set",
		"function.max_concurrency":     "event source mapping's maximum concurrency",
		"function.log_retention_days":  "CloudWatch Logs retention",
		"trigger.batch_size":           "event source mapping's batch size",
		"trigger.batch_window_s":       "event source mapping's batching window",
		"trigger.enabled":              "event source mapping's Enabled: paused, messages stay in the queue",
		"trigger.filter":               "SNS subscription filter policy on message attributes",
		"function.tables":              "statements of the role's policy on each table, and `THREEFACTOR_TABLE_<NAME>`",
		"trigger.visibility_timeout_s": "SQS visibility timeout",
		"retry.max_attempts":           "SQS redrive maxReceiveCount",
		"dead_letter.retention_days":   "SQS retention of both queues",
		"dedup.ttl_s":                  "DynamoDB TTL of each record",
	},
	Timeouts: driver.Timeouts{Create: 10 * time.Minute, Update: 10 * time.Minute, Delete: 10 * time.Minute},
	ImportID: "aws/<region>/<name>",
	Settings: []driver.Setting{
		{Name: "region", Type: driver.String, Description: "AWS region. Defaults to `AWS_REGION` or the shared config."},
		{Name: "profile", Type: driver.String, Description: "Named profile of the shared config and credentials files. Defaults to the SDK's default credential chain."},
		{Name: "endpoint", Type: driver.String, Description: "One URL for every AWS service, such as `http://127.0.0.1:5000` for moto or LocalStack. `AWS_ENDPOINT_URL` is honoured too."},
		{Name: "endpoints", Type: driver.StringMap, Keys: services, Description: "Per-service endpoint URLs, overriding `endpoint`."},
		{Name: "max_retries", Type: driver.Int, Min: 1, Max: 100, Description: fmt.Sprintf(
			"Retries per AWS API call on throttling and transient errors, %d by default (the SDK's own default of 3 fails large applies under throttling).", DefaultMaxRetries)},
		{Name: "default_tags", Type: driver.StringMap, Removed: "`aws.default_tags` moved to the provider's top-level `default_tags`, which applies to the handlers of every cloud: move the map there."},
	},
	Open: func(ctx context.Context, s driver.Settings) (driver.Driver, error) {
		return New(ctx, Config{
			Region: s.String("region"), Profile: s.String("profile"), Endpoint: s.String("endpoint"),
			Endpoints: s.Map("endpoints"), MaxRetries: int(s.Int("max_retries")),
		})
	},
	Plan: plan,
}

var components = []driver.ComponentInfo{
	{Component: driver.Identity, Display: "IAM role"},
	{Component: driver.Logs, Display: "log group"},
	{Component: driver.DeadLetter, Display: "dead-letter queue"},
	{Component: driver.DedupTable, Display: "dedup table"},
	{Component: driver.Topic, Display: "trigger topic"},
	{Component: driver.Queue, Display: "trigger queue"},
	{Component: driver.Subscription, Display: "trigger subscription"},
	{Component: driver.Function, Display: "function"},
	{Component: driver.Mapping, Display: "event source mapping"},
}

// order is the components in creation order.
var order = driver.Order(components)

// services are the keys the endpoints setting accepts.
var services = []string{"dynamodb", "iam", "kms", "lambda", "logs", "sns", "sqs"}

func needs(h *spec.Handler) []driver.Component { return plumbing.Needs(order, h) }

// plan: a new trigger kind or source replaces the queue and its mapping (a mapping's event source
// cannot change), the topic and the subscription; Lambda takes a new architecture only with code.
func plan(prior, desired *spec.Handler) driver.Change {
	var ch driver.Change
	if prior.Trigger.Kind != desired.Trigger.Kind || prior.Trigger.Source != desired.Trigger.Source {
		ch.Replace = []driver.Component{driver.Topic, driver.Queue, driver.Subscription, driver.Mapping}
		ch.Warnings = append(ch.Warnings, driver.TriggerSwapWarning(prior, desired))
	}
	ch.Code = prior.Function.SourceHash != desired.Function.SourceHash || prior.Function.Architecture != desired.Function.Architecture
	return ch
}

var rules = &spec.Rules{
	Defaults: spec.Defaults{
		MemoryMB: 256, TimeoutS: 30, Architecture: "x86_64", LogRetentionDays: 30, BatchSize: 10, BatchWindowS: 0,
		MaxAttempts: 5, RetentionDays: 14, DedupTTLS: 86400,
	},
	Runtimes: map[string]spec.Runtime{
		"nodejs22":   {Name: "nodejs22.x", EntryPoint: "index.handler"},
		"nodejs24":   {Name: "nodejs24.x", EntryPoint: "index.handler"},
		"python3.12": {Name: "python3.12", EntryPoint: "main.handler"},
		"python3.13": {Name: "python3.13", EntryPoint: "main.handler"},
		"java21":     {Name: "java21"},
		"go":         {Name: "provided.al2023", EntryPoint: "bootstrap"},
	},
	MemoryMB:             spec.Range{Min: 128, Max: 10240, Why: "Lambda's memory sizes"},
	TimeoutS:             spec.Range{Min: 1, Max: 900, Why: "Lambda's longest invocation"},
	Architectures:        []string{"x86_64", "arm64"},
	LogRetention:         []int64{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653},
	MaxConcurrency:       spec.Range{Min: 2, Max: 1000, Why: "an SQS event source mapping's maximum concurrency"},
	BatchSize:            spec.Range{Min: 1, Max: 10000, Why: "an SQS event source mapping's batch size"},
	BatchSizeNeedsWindow: 10,
	BatchWindowS:         spec.Range{Min: 0, Max: 300, Why: "an event source mapping's batching window"},
	VisibilityTimeoutS:   spec.Range{Min: 0, Max: 43200, Why: "SQS's visibility timeout, 12 hours at most"},
	VisibilityFactor:     6,
	MaxAttempts:          maxAttempts,
	RetentionDays:        retentionDays,
	DedupTTLS:            spec.Range{Min: 60, Max: 31536000, Why: "a minute to a year"},
	ZipBytes:             50 << 20,
	UnzippedBytes:        250 << 20,
	ZipAdvice:            "Ship large dependencies in a Lambda layer or a container image.",
	EnvBytes:             4 << 10,
	ReservedEnv: []string{
		"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
		"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
		"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
	},
	// The role, the tightest, is <name>--<region> within IAM's 64 characters.
	NameMaxLen: 40,
	Unsupported: map[string]string{
		"retry.min_backoff_s": "SQS redelivers a failed message when its visibility timeout ends (trigger.visibility_timeout_s)",
	},
	Tags: spec.TagRules{
		HandlerKey:     HandlerTag,
		ReservedPrefix: TagPrefix,
		Key: func(k string) string {
			switch {
			case len(k) == 0 || len(k) > 128:
				return fmt.Sprintf("keys are 1-128 characters, got %d.", len(k))
			case strings.HasPrefix(strings.ToLower(k), "aws:"):
				return "keys starting with \"aws:\" are reserved by AWS."
			}
			return ""
		},
		Value: func(v string) string {
			if len(v) > 256 {
				return fmt.Sprintf("values are at most 256 characters, got %d.", len(v))
			}
			return ""
		},
	},
	Source:  checkSource,
	TableID: checkTableID,
	Filter: &spec.FilterRules{
		MaxKeys: 5, MaxCombinations: 150, MaxLen: 256 << 10, Rendered: filterPolicy,
		Why: "an SNS filter policy's limits",
	},
	Topics: &spec.TopicRules{
		NameMaxLen:  256,
		Unsupported: map[string]string{"retention_days": "an SNS standard topic keeps no messages: each subscribed queue keeps its own (dead_letter.retention_days)"},
	},
	Tables: &spec.TableRules{
		NameMinLen: 3, NameMaxLen: 255,
		Attribute: func(name string) string {
			if len(name) == 0 || len(name) > 255 {
				return fmt.Sprintf("DynamoDB attribute names are 1-255 characters, got %d.", len(name))
			}
			return ""
		},
	},
	Check: checkTiming,
}

var (
	maxAttempts   = spec.Range{Min: 1, Max: 1000, Why: "SQS's maxReceiveCount"}
	retentionDays = spec.Range{Min: 1, Max: 14, Why: "SQS keeps a message 14 days at most"}
)

// checkTiming holds SQS's rules between settings.
func checkTiming(h *spec.Handler, known spec.Known) []spec.Problem {
	var ps []spec.Problem
	add := func(path []string, summary, detail string, args ...any) {
		ps = append(ps, spec.Problem{Path: path, Summary: summary, Detail: fmt.Sprintf(detail, args...)})
	}
	fn, tr := h.Function, h.Trigger
	if known("trigger", "visibility_timeout_s") && known("function", "timeout_s") && tr.VisibilityTimeoutS < fn.TimeoutS {
		add([]string{"trigger", "visibility_timeout_s"}, "Visibility timeout below function timeout",
			"trigger.visibility_timeout_s (%d) must be at least function.timeout_s (%d), or a message becomes visible again while it is still being processed.",
			tr.VisibilityTimeoutS, fn.TimeoutS)
	}
	// Checked only once each setting is valid on its own: one error at a time.
	if known("retry", "max_attempts") && known("trigger", "visibility_timeout_s") && known("dead_letter", "retention_days") &&
		maxAttempts.Contains(h.Retry.MaxAttempts) && retentionDays.Contains(h.DeadLetter.RetentionDays) {
		window := h.Retry.MaxAttempts * tr.VisibilityTimeoutS
		if retention := h.DeadLetter.RetentionDays * 86400; window > retention {
			add([]string{"retry", "max_attempts"}, "Retry budget outlives the queue's retention",
				"retry.max_attempts (%d) × trigger.visibility_timeout_s (%d) = %d seconds, longer than the source queue's retention of %d seconds (dead_letter.retention_days): messages would expire instead of being dead-lettered. Lower one of them.",
				h.Retry.MaxAttempts, tr.VisibilityTimeoutS, window, retention)
		}
	}
	return ps
}
