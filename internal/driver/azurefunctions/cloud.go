package azurefunctions

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Name is the cloud's name in configurations.
const Name spec.Cloud = "azure"

// Tags: Azure tag names may hold ':'; the handler's tag is AWS's.
const (
	TagPrefix  = "threefactor:"
	HandlerTag = TagPrefix + "handler"
)

// The components Azure has beside the neutral ones.
const (
	// StorageAccount holds the function app's host state and its deployment container.
	StorageAccount driver.Component = "storage_account"
	// Namespace is the Service Bus namespace of the trigger and the dead-letter queue: the
	// handler's own, or an existing one (the provider's service_bus_namespace, or the source's).
	Namespace driver.Component = "namespace"
	// CosmosAccount is the serverless Cosmos DB account of the dedup container: the handler's own,
	// or the provider's cosmos_account.
	CosmosAccount driver.Component = "cosmos_account"
	// Plan is the Flex Consumption plan of the function app.
	Plan driver.Component = "plan"
	// ReceiverGrant is Azure Service Bus Data Receiver on the queue or subscription.
	ReceiverGrant driver.Component = "receiver_grant"
	// StorageGrant is Storage Blob Data Owner on the storage account.
	StorageGrant driver.Component = "storage_grant"
	// DedupGrant is the Cosmos DB SQL role assignment (Built-in Data Contributor) on the container.
	DedupGrant driver.Component = "dedup_grant"
	// Workspace is the handler's Log Analytics workspace, where its Application Insights component
	// (driver.Logs) keeps the function's logs for function.log_retention_days.
	Workspace driver.Component = "log_workspace"
	// MetricsGrant is Monitoring Metrics Publisher on the Application Insights component: with local
	// auth off, the identity's token is the only way telemetry is accepted.
	MetricsGrant driver.Component = "metrics_grant"
)

// Cloud describes Azure to the provider.
var Cloud = &driver.Cloud{
	Name:       Name,
	Title:      "Azure",
	Components: components,
	Needs:      needs,
	Holds: map[driver.Component][]string{
		driver.Function: {"function.runtime", "source_hash", "function.memory_mb", "function.timeout_s",
			"function.environment", "function.max_concurrency", "function.tables", "tags", "dedup.ttl_s"},
		driver.Queue:        {"trigger.kind", "trigger.source", "trigger.visibility_timeout_s", "retry.max_attempts", "trigger.enabled", "trigger.batch_size"},
		driver.Subscription: {"trigger.kind", "trigger.source", "trigger.visibility_timeout_s", "retry.max_attempts", "trigger.enabled", "trigger.batch_size", "trigger.filter"},
		driver.Topic:        {"trigger.kind", "trigger.source"},
		driver.DeadLetter:   {"dead_letter.retention_days"},
		driver.DedupTable:   {"dedup.ttl_s"},
		Workspace:           {"function.log_retention_days"},
	},
	Rules: rules,
	Meaning: map[string]string{
		"function.memory_mb":           "Flex Consumption instance memory (512, 2048 or 4096 MB)",
		"function.timeout_s":           "the Functions host's functionTimeout, and the longest the host renews a message's lock",
		"function.max_concurrency":     "Flex Consumption maximum instance count",
		"function.log_retention_days":  "retention of the handler's Log Analytics workspace, where its Application Insights component keeps the function's logs and metrics",
		"trigger.batch_size":           "1: Node and Python batch triggers settle a whole batch together",
		"trigger.enabled":              "the queue's or subscription's status: paused, it is ReceiveDisabled and messages wait in it",
		"trigger.visibility_timeout_s": "Service Bus lock duration (at most 5 minutes; the host renews it for longer functions)",
		"retry.max_attempts":           "Service Bus MaxDeliveryCount of the queue or subscription",
		"dead_letter.retention_days":   "message time to live of the <name>--dlq queue dead letters are forwarded to",
		"dedup.ttl_s":                  "DefaultTTL of the Cosmos DB dedup container",
		"trigger.filter":               "Service Bus SQL rule of the subscription over application properties, in place of $Default",
		"function.tables":              "Cosmos DB SQL role assignments (Built-in Data Reader or Contributor) on each container, and THREEFACTOR_TABLE_<NAME>",
	},
	// A Cosmos DB account takes minutes to create.
	Timeouts: driver.Timeouts{Create: 30 * time.Minute, Update: 20 * time.Minute, Delete: 30 * time.Minute},
	ImportID: "azure/<subscription>/<resource_group>/<name>",
	Settings: []driver.Setting{
		{Name: "subscription_id", Type: driver.String, Description: "Azure subscription id. Defaults to `AZURE_SUBSCRIPTION_ID`."},
		{Name: "resource_group", Type: driver.String, Description: "Resource group that holds the handlers' resources. Defaults to `AZURE_RESOURCE_GROUP`."},
		{Name: "location", Type: driver.String, Description: "Azure location, such as `westeurope`. Defaults to `AZURE_LOCATION`."},
		{Name: "endpoint", Type: driver.String, Description: "Azure Resource Manager endpoint, for sovereign clouds and emulators (`https://management.azure.com` by default). " +
			"The token authority is `AZURE_AUTHORITY_HOST`; a test CA is trusted through `SSL_CERT_FILE`."},
		{Name: "tenant_id", Type: driver.String, Description: "Microsoft Entra tenant id of client_id. Defaults to `AZURE_TENANT_ID`."},
		{Name: "client_id", Type: driver.String, Description: "Client id of a service principal. Unset, `DefaultAzureCredential` is used."},
		{Name: "client_secret", Type: driver.String, Sensitive: true, Description: "Client secret of client_id."},
		{Name: "scm_suffix", Type: driver.String, Description: "DNS suffix of the function apps' SCM endpoints, where code is published (`azurewebsites.net` by default)."},
		{Name: "service_bus_namespace", Type: driver.String, Description: "ARM id of an existing Service Bus namespace (Standard or Premium) every handler uses. " +
			"Unset, each handler creates its own Standard namespace, which has a base monthly charge."},
		{Name: "cosmos_account", Type: driver.String, Description: "ARM id of an existing Cosmos DB account every handler's dedup container goes into. " +
			"Unset, each handler creates its own serverless account, which takes minutes."},
		{Name: "max_retries", Type: driver.Int, Min: 1, Max: 100, Description: fmt.Sprintf(
			"Retries per call on transient errors (429, 5xx), %d by default.", DefaultMaxRetries)},
	},
	Open: func(ctx context.Context, s driver.Settings) (driver.Driver, error) {
		return New(ctx, Config{
			Subscription: s.String("subscription_id"), ResourceGroup: s.String("resource_group"), Location: s.String("location"),
			Endpoint: s.String("endpoint"), TenantID: s.String("tenant_id"), ClientID: s.String("client_id"),
			ClientSecret: s.String("client_secret"), SCMSuffix: s.String("scm_suffix"),
			SharedNamespace: s.String("service_bus_namespace"), SharedCosmos: s.String("cosmos_account"),
			MaxRetries: int(s.Int("max_retries")),
		})
	},
	Plan: plan,
}

var components = []driver.ComponentInfo{
	{Component: driver.Identity, Display: "managed identity"},
	{Component: StorageAccount, Display: "storage account"},
	{Component: Namespace, Display: "Service Bus namespace"},
	{Component: CosmosAccount, Display: "Cosmos DB account"},
	{Component: Workspace, Display: "Log Analytics workspace"},
	{Component: driver.DedupTable, Display: "dedup database and container"},
	{Component: driver.DeadLetter, Display: "dead-letter queue"},
	{Component: driver.Logs, Display: "Application Insights component"},
	{Component: driver.Topic, Display: "trigger topic"},
	{Component: driver.Queue, Display: "trigger queue"},
	{Component: driver.Subscription, Display: "topic subscription"},
	{Component: ReceiverGrant, Display: "Service Bus Data Receiver role assignment"},
	{Component: StorageGrant, Display: "Storage Blob Data Owner role assignment"},
	{Component: DedupGrant, Display: "Cosmos DB SQL role assignment"},
	{Component: MetricsGrant, Display: "Monitoring Metrics Publisher role assignment"},
	{Component: Plan, Display: "Flex Consumption plan"},
	{Component: driver.Function, Display: "function app"},
}

var order = driver.Order(components)

// needs: a queue for kind queue (the handler's own or the adopted source); for kind topic a
// subscription, on the handler's own topic unless a source is given.
func needs(h *spec.Handler) []driver.Component {
	var cs []driver.Component
	for _, c := range order {
		switch {
		case c == driver.Queue && h.Trigger.Kind != spec.Queue,
			c == driver.Subscription && h.Trigger.Kind != spec.Topic,
			c == driver.Topic && (h.Trigger.Kind != spec.Topic || h.Trigger.Source != ""):
			continue
		}
		cs = append(cs, c)
	}
	return cs
}

// plan: a new kind or source replaces the trigger entities and the receiver's role assignment;
// code is published only when its hash changed.
func plan(prior, desired *spec.Handler) driver.Change {
	var ch driver.Change
	if prior.Trigger.Kind != desired.Trigger.Kind || prior.Trigger.Source != desired.Trigger.Source {
		ch.Replace = []driver.Component{driver.Topic, driver.Queue, driver.Subscription, ReceiverGrant}
		ch.Warnings = append(ch.Warnings, driver.TriggerSwapWarning(prior, desired))
	}
	ch.Code = prior.Function.SourceHash != desired.Function.SourceHash
	return ch
}

var (
	// sourceRE is the ARM id of a Service Bus queue or topic.
	sourceRE  = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.ServiceBus/namespaces/([A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9])/(queues|topics)/([A-Za-z0-9][A-Za-z0-9._-]{0,259})$`)
	tagKeyBad = regexp.MustCompile(`[<>%&\\?/]`)
)

var timeoutS = spec.Range{Min: 1, Max: 3600, Why: "the Service Bus extension renews a lock for at most maxAutoLockRenewalDuration, which the provider sets to the timeout"}

var rules = &spec.Rules{
	Defaults: spec.Defaults{MemoryMB: 2048, TimeoutS: 60, LogRetentionDays: 30, BatchSize: 1, MaxAttempts: 10, RetentionDays: 14, DedupTTLS: 86400},
	Runtimes: map[string]spec.Runtime{
		"nodejs22":   {Name: "node/22", EntryPoint: "handler"},
		"python3.12": {Name: "python/3.12", EntryPoint: "handler"},
		"java21":     {Name: "java/21", EntryPoint: "handler"},
		// Go runs as a custom handler: source_dir holds the built binary named handler and the
		// provider writes host.json's customHandler section.
		"go": {Name: "custom/1.0", EntryPoint: "handler"},
	},
	MemoryMB:    spec.Range{Min: 512, Max: 4096, Why: "Flex Consumption instance memory sizes"},
	MemorySizes: []int64{512, 2048, 4096},
	// A PerGB2018 workspace keeps data 30-730 days; these are Application Insights' retention steps.
	LogRetention:       []int64{30, 60, 90, 120, 180, 270, 365, 550, 730},
	TimeoutS:           timeoutS,
	MaxConcurrency:     spec.Range{Min: 1, Max: 1000, Why: "Flex Consumption's maximum instance count"},
	BatchSize:          spec.Range{Min: 1, Max: 1, Why: "Node and Python batch triggers settle a whole batch together, which would replay good messages with a poison one"},
	VisibilityTimeoutS: spec.Range{Min: 5, Max: 300, Why: "Service Bus lock durations are 5 seconds to 5 minutes (the host renews the lock for longer functions)"},
	VisibilityFactor:   6,
	MaxAttempts:        spec.Range{Min: 1, Max: 2000, Why: "Service Bus MaxDeliveryCount"},
	RetentionDays:      spec.Range{Min: 1, Max: 365, Why: "the dead-letter queue's message time to live"},
	DedupTTLS:          spec.Range{Min: 60, Max: 31536000, Why: "a minute to a year"},
	ZipBytes:           1 << 30,
	UnzippedBytes:      1 << 30,
	ZipAdvice:          "Flex Consumption takes a package of at most 1 GB: leave development dependencies out.",
	EnvBytes:           64 << 10,
	ReservedEnv: []string{
		"AzureWebJobsStorage", "AZURE_CLIENT_ID", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION",
		"WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTSHARE", "APPLICATIONINSIGHTS_CONNECTION_STRING",
		"APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
	},
	// Derived names: the namespace "<name>-<hash>" within 50, the Cosmos account within 44.
	NameMinLen: 3,
	NameMaxLen: 35,
	Unsupported: map[string]string{
		"function.architecture":  "Flex Consumption chooses the instruction set",
		"trigger.batch_window_s": "the Service Bus trigger delivers each message as it arrives",
		"retry.min_backoff_s":    "Service Bus redelivers as soon as a message's lock is released or expires; it has no retry backoff",
	},
	Tags: spec.TagRules{
		HandlerKey:     HandlerTag,
		ReservedPrefix: TagPrefix,
		Key: func(k string) string {
			if k == "" || len(k) > 512 || tagKeyBad.MatchString(k) {
				return "Azure tag names are 1-512 characters without < > % & \\ ? or /."
			}
			return ""
		},
		Value: func(v string) string {
			if len(v) > 256 {
				return "Azure tag values are at most 256 characters."
			}
			return ""
		},
	},
	Source: func(kind spec.TriggerKind, source string) string {
		m := sourceRE.FindStringSubmatch(source)
		want := map[spec.TriggerKind]string{spec.Queue: "queues", spec.Topic: "topics"}[kind]
		if m == nil || !strings.EqualFold(m[4], want) {
			return fmt.Sprintf("trigger.source must be the ARM id of an existing Service Bus %s for trigger.kind %q, "+
				"/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ServiceBus/namespaces/<namespace>/%s/<name>, got %q.",
				strings.TrimSuffix(want, "s"), kind, want, source)
		}
		return ""
	},
	Filter: &spec.FilterRules{
		// 85 is the most terms "a = 'b'" joined by " AND " that fit in 1024 characters.
		MaxKeys: 85, MaxLen: maxFilterLen, Rendered: sqlFilter,
		Why: "a Service Bus SQL filter expression is at most 1024 characters",
	},
	TableID: func(id string) string {
		if _, _, _, _, err := containerOf(id); err != nil {
			return "table_id must be the ARM id of a Cosmos DB container (a threefactor_table's table_id), " +
				"/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.DocumentDB/databaseAccounts/<account>/sqlDatabases/<database>/containers/<name>, got " + fmt.Sprintf("%q.", id)
		}
		return ""
	},
	Topics: &spec.TopicRules{
		// The topic's namespace, "<name>-<hash>", has at most 50 characters.
		NameMaxLen:           41,
		RetentionDays:        spec.Range{Min: 1, Max: 365, Why: "the topic's default message time to live, which bounds how long an event waits in a subscriber's subscription"},
		DefaultRetentionDays: 14,
	},
	Tables: &spec.TableRules{
		// The table's own Cosmos DB account, "<name>-<hash>", has at most 44 characters.
		NameMinLen: 3, NameMaxLen: 35,
		Attribute: func(name string) string {
			if name == "" || len(name) > 255 || strings.ContainsAny(name, "/\\?#") || strings.HasPrefix(name, "_") {
				return "Cosmos DB property names used as a partition key are 1-255 characters without / \\ ? # and do not start with _ (system properties)."
			}
			return ""
		},
		// A container takes 15 tags; the provider's threefactor:table is one.
		MaxTags: 14, MaxTagsWhy: "a Cosmos DB container takes 15 tags, one of them the provider's threefactor:table",
		TTLAttribute: cosmosTTLAttribute,
		TTLWhy: "Cosmos DB expires an item by its own ttl property, in seconds after the item's last write, not at an epoch time; " +
			"with ttl_attribute set, the container's DefaultTTL is -1, so an item without ttl never expires",
	},
	Check: func(h *spec.Handler, known spec.Known) []spec.Problem {
		var ps []spec.Problem
		if known("function", "tables") && len(h.Function.Tables) > 0 {
			ps = append(ps, spec.Problem{Path: []string{"function", "tables"}, Warning: true, Summary: "Transactional mode cannot write a granted table on azure",
				Detail: "A Cosmos DB transactional batch covers one container and one partition key, so the runtime library's Transactional mode " +
					"cannot commit a dedup record (in the handler's dedup container) and an item of a granted table together: with a granted table " +
					"(Options.StateTable) use ClaimComplete or SingleWrite; Transactional keeps entity state in the dedup container."})
		}
		if known("trigger", "visibility_timeout_s") && known("function", "timeout_s") && timeoutS.Contains(h.Function.TimeoutS) &&
			h.Trigger.VisibilityTimeoutS < min(h.Function.TimeoutS, 300) && h.Trigger.VisibilityTimeoutS >= 5 {
			ps = append(ps, spec.Problem{Path: []string{"trigger", "visibility_timeout_s"}, Summary: "Lock duration below function timeout",
				Detail: fmt.Sprintf("trigger.visibility_timeout_s (%d) is the Service Bus lock duration on azure: it must be at least function.timeout_s (%d) or 300, or a message still being processed may be delivered again.",
					h.Trigger.VisibilityTimeoutS, h.Function.TimeoutS)})
		}
		return ps
	},
}
