package gcpfunctions

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Name is the cloud's name in configurations.
const Name spec.Cloud = "gcp"

// Labels: Google label keys are lowercase, so the handler's label is not AWS's threefactor:handler.
const (
	LabelPrefix  = "threefactor-"
	HandlerLabel = LabelPrefix + "handler"
)

// The components Google has beside the neutral ones.
const (
	// DeadLetterSubscription keeps what reaches the dead-letter topic: a topic alone loses it.
	DeadLetterSubscription driver.Component = "dead_letter_subscription"
	// DedupGrant is the identity's roles/datastore.user on the project, conditioned on the handler's
	// own dedup database (Firestore grants no narrower), with the bindings of function.tables beside
	// it: one conditional binding per granted table's database, written in the same policy update.
	DedupGrant driver.Component = "dedup_grant"
)

// Cloud describes Google Cloud to the provider.
var Cloud = &driver.Cloud{
	Name:       Name,
	Title:      "Google Cloud",
	Components: components,
	Needs:      needs,
	Holds: map[driver.Component][]string{
		driver.Function: {"function.runtime", "function.entry_point", "source_hash", "function.memory_mb", "function.timeout_s",
			"function.environment", "function.max_concurrency", "function.tables", "tags", "dedup.ttl_s"},
		driver.Subscription: {"trigger.kind", "trigger.source", "trigger.visibility_timeout_s", "retry.max_attempts", "retry.min_backoff_s",
			"trigger.batch_size", "trigger.enabled", "trigger.filter"},
		driver.Queue:           {"trigger.kind", "trigger.source"},
		driver.Topic:           {"trigger.kind", "trigger.source"},
		DeadLetterSubscription: {"dead_letter.retention_days"},
		driver.DedupTable:      {"dedup.ttl_s"},
	},
	Rules: rules,
	Meaning: map[string]string{
		"function.timeout_s":           "Cloud Run functions request timeout",
		"function.max_concurrency":     "maximum instance count (each instance serves one request at a time)",
		"trigger.batch_size":           "1: a push subscription posts one message per request",
		"trigger.enabled":              "the push subscription's endpoint: paused, it is a pull subscription nobody pulls and messages wait in it",
		"trigger.filter":               "Pub/Sub subscription filter on message attributes; a subscription's filter cannot change, so a new one replaces the push subscription",
		"function.tables":              "a conditional IAM binding per table's Firestore database (roles/datastore.viewer or roles/datastore.user), and THREEFACTOR_TABLE_<NAME>",
		"trigger.visibility_timeout_s": "Pub/Sub acknowledgement deadline, also the push request's timeout",
		"retry.max_attempts":           "dead-letter policy's max_delivery_attempts",
		"retry.min_backoff_s":          "retry policy's minimum backoff",
		"dead_letter.retention_days":   "retention of the dead-letter subscription",
		"dedup.ttl_s":                  "Firestore TTL of each record (deletion typically within 24 hours)",
	},
	// A Firestore database and a function's build take minutes on Google.
	Timeouts: driver.Timeouts{Create: 20 * time.Minute, Update: 20 * time.Minute, Delete: 15 * time.Minute},
	ImportID: "gcp/<project>/<region>/<name>",
	Settings: []driver.Setting{
		{Name: "project", Type: driver.String, Description: "Google Cloud project id. Defaults to `GOOGLE_CLOUD_PROJECT`."},
		{Name: "region", Type: driver.String, Description: "Google Cloud region, such as `europe-west1`. Defaults to `GOOGLE_CLOUD_REGION`."},
		{Name: "credentials", Type: driver.String, Sensitive: true, Description: "Service account key JSON. Defaults to Application Default Credentials."},
		{Name: "endpoints", Type: driver.StringMap, Keys: services, Description: "Per-API endpoint overrides, for private endpoints and emulators: " +
			"`host:port` (TLS, with credentials) or `http://host:port` (plain text, no credentials, for emulators and fakes). " +
			"`PUBSUB_EMULATOR_HOST` is honoured too."},
		{Name: "max_retries", Type: driver.Int, Min: 1, Max: 100, Description: fmt.Sprintf(
			"Retries per call on transient errors (UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED IAM policy races), %d by default.", DefaultMaxRetries)},
	},
	Open: func(ctx context.Context, s driver.Settings) (driver.Driver, error) {
		return New(ctx, Config{
			Project: s.String("project"), Region: s.String("region"), Credentials: s.String("credentials"),
			Endpoints: s.Map("endpoints"), MaxRetries: int(s.Int("max_retries")),
		})
	},
	Plan: plan,
}

// services are the keys of the endpoints setting: one per API the driver calls.
var services = []string{"functions", "iam", "run", "pubsub", "resourcemanager", "firestore_admin", "firestore"}

var components = []driver.ComponentInfo{
	{Component: driver.Identity, Display: "service account"},
	{Component: driver.DedupTable, Display: "dedup database"},
	{Component: driver.DeadLetter, Display: "dead-letter topic"},
	{Component: DeadLetterSubscription, Display: "dead-letter subscription"},
	{Component: driver.Topic, Display: "trigger topic"},
	{Component: driver.Queue, Display: "handler's own topic"},
	{Component: DedupGrant, Display: "Firestore grants"},
	{Component: driver.Function, Display: "function"},
	{Component: driver.Subscription, Display: "push subscription"},
}

var order = driver.Order(components)

// needs: the handler's own topic for kind queue without a source, a fan-out topic for kind topic
// without a source; with a source, neither.
func needs(h *spec.Handler) []driver.Component {
	var cs []driver.Component
	for _, c := range order {
		switch {
		case c == driver.Queue && (h.Trigger.Kind != spec.Queue || h.Trigger.Source != ""),
			c == driver.Topic && (h.Trigger.Kind != spec.Topic || h.Trigger.Source != ""):
			continue
		}
		cs = append(cs, c)
	}
	return cs
}

// plan: a push subscription's topic cannot change, so a new kind or source replaces it with the
// topics; nor can its filter, so a new filter replaces the subscription; code is uploaded only
// when it changed (Cloud Functions rebuilds from the stored source on a new runtime or entry point).
func plan(prior, desired *spec.Handler) driver.Change {
	var ch driver.Change
	switch {
	case prior.Trigger.Kind != desired.Trigger.Kind || prior.Trigger.Source != desired.Trigger.Source:
		ch.Replace = []driver.Component{driver.Topic, driver.Queue, driver.Subscription}
		ch.Warnings = append(ch.Warnings, driver.TriggerSwapWarning(prior, desired))
	case subscriptionFilter(prior.Trigger.Filter) != subscriptionFilter(desired.Trigger.Filter):
		ch.Replace = []driver.Component{driver.Subscription}
		ch.Warnings = append(ch.Warnings, spec.Problem{Path: []string{"trigger", "filter"}, Warning: true, Summary: "Trigger subscription replaced",
			Detail: "A Pub/Sub subscription's filter cannot change: changing trigger.filter on gcp replaces the handler's push subscription. " +
				"Messages the old subscription holds that are not delivered yet are dropped with it, and messages published while it is replaced " +
				"are not delivered. Drain it first if they matter, or seek the new subscription back to a time within the topic's retention."})
	}
	ch.Code = prior.Function.SourceHash != desired.Function.SourceHash
	return ch
}

var (
	labelKeyRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValueRE = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
	topicRE      = regexp.MustCompile(`^projects/([a-z][a-z0-9-]{4,28}[a-z0-9])/topics/([a-zA-Z][a-zA-Z0-9-_.~+%]{2,254})$`)
)

var rules = &spec.Rules{
	Defaults: spec.Defaults{MemoryMB: 256, TimeoutS: 60, BatchSize: 1, MaxAttempts: 5, MinBackoffS: 10, RetentionDays: 7, DedupTTLS: 86400},
	Runtimes: map[string]spec.Runtime{
		"nodejs22":   {Name: "nodejs22", EntryPoint: "handler"},
		"python3.12": {Name: "python312", EntryPoint: "handler"},
		"python3.13": {Name: "python313", EntryPoint: "handler"},
		"java21":     {Name: "java21"},
		// Google builds Go from source: source_dir is a module whose package registers the function.
		"go": {Name: "go125", EntryPoint: "Handler"},
	},
	MemoryMB:           spec.Range{Min: 128, Max: 32768, Why: "Cloud Run functions' memory sizes"},
	MemorySizes:        []int64{128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768},
	TimeoutS:           timeoutS,
	MaxConcurrency:     spec.Range{Min: 1, Max: 1000, Why: "a function's maximum instances"},
	BatchSize:          spec.Range{Min: 1, Max: 1, Why: "a push subscription posts one message per request"},
	VisibilityTimeoutS: spec.Range{Min: 10, Max: 600, Why: "Pub/Sub's acknowledgement deadline"},
	VisibilityFactor:   6,
	MaxAttempts:        spec.Range{Min: 5, Max: 100, Why: "Pub/Sub's max_delivery_attempts"},
	MinBackoffS:        spec.Range{Min: 0, Max: 600, Why: "Pub/Sub's retry policy"},
	RetentionDays:      spec.Range{Min: 1, Max: 31, Why: "Pub/Sub keeps a message 31 days at most"},
	DedupTTLS:          spec.Range{Min: 60, Max: 31536000, Why: "a minute to a year"},
	ZipBytes:           100 << 20,
	UnzippedBytes:      500 << 20,
	ZipAdvice:          "Cloud Functions takes at most 100 MB of source: leave build output and dependencies out, the build installs them.",
	EnvBytes:           32 << 10,
	ReservedEnv: []string{
		"ENTRY_POINT", "GCP_PROJECT", "GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT", "FUNCTION_TRIGGER_TYPE", "FUNCTION_NAME",
		"FUNCTION_MEMORY_MB", "FUNCTION_TIMEOUT_SEC", "FUNCTION_IDENTITY", "FUNCTION_REGION", "FUNCTION_TARGET",
		"FUNCTION_SIGNATURE_TYPE", "K_SERVICE", "K_REVISION", "K_CONFIGURATION", "PORT",
	},
	// A function id is 4-63 characters; the dedup database, "<name>--dedup", within Firestore's 63.
	NameMinLen: 4,
	NameMaxLen: 48,
	Unsupported: map[string]string{
		"function.architecture":       "Cloud Run functions choose the instruction set",
		"function.log_retention_days": "Cloud Logging keeps function logs in the project's _Default bucket, not in a group per function",
		"trigger.batch_window_s":      "a push subscription delivers each message as it arrives",
	},
	Tags: spec.TagRules{
		HandlerKey:     HandlerLabel,
		ReservedPrefix: LabelPrefix,
		Key: func(k string) string {
			if !labelKeyRE.MatchString(k) {
				return "label keys are 1-63 lowercase letters, digits, underscores and hyphens, starting with a lowercase letter."
			}
			return ""
		},
		Value: func(v string) string {
			if !labelValueRE.MatchString(v) {
				return "label values are at most 63 lowercase letters, digits, underscores and hyphens."
			}
			return ""
		},
	},
	Source: func(kind spec.TriggerKind, source string) string {
		if !topicRE.MatchString(source) {
			return fmt.Sprintf("trigger.source must be the name of an existing Pub/Sub topic, projects/<project>/topics/<topic>, for trigger.kind %q, got %q.", kind, source)
		}
		return ""
	},
	TableID: func(id string) string {
		if !databaseRE.MatchString(id) {
			return fmt.Sprintf("table_id must be a threefactor_table's table_id on gcp, projects/<project>/databases/<table>, got %q.", id)
		}
		return ""
	},
	Filter: &spec.FilterRules{
		// A message carries at most 100 attributes; the filter's 256 bytes bind first.
		MaxKeys: 100, MaxLen: 256, Rendered: subscriptionFilter,
		Why: "a Pub/Sub subscription filter is at most 256 bytes",
	},
	Topics: &spec.TopicRules{
		// Pub/Sub's topic ids are 3-255 characters.
		NameMinLen: 3, NameMaxLen: 255,
		// Pub/Sub allows 10 minutes to 31 days; the unit here is a day.
		RetentionDays:        spec.Range{Min: 1, Max: 31, Why: "Pub/Sub keeps a topic's messages 31 days at most"},
		DefaultRetentionDays: 7,
	},
	Tables: &spec.TableRules{
		// A table is a Firestore database of its own, whose id is 4-63 characters.
		NameMinLen: 4, NameMaxLen: 63,
		Attribute: func(name string) string {
			if !fieldRE.MatchString(name) || len(name) > 1500 || strings.HasPrefix(name, "__") {
				return "on gcp an attribute is a Firestore field named by 1-1500 letters, digits and underscores, not starting with a digit or \"__\"."
			}
			return ""
		},
		Unsupported: map[string]string{
			"key":  "a Firestore document's id is its key, so a table's items are documents named by their key and carry no key field: keep the default \"id\"",
			"tags": "Firestore databases take no labels",
		},
	},
	Check: check,
}

var (
	databaseRE = regexp.MustCompile(`^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/databases/[a-z][a-z0-9-]{2,61}[a-z0-9]$`)
	fieldRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// check adds Google's rules between settings: the acknowledgement deadline against the timeout and
// the attribute names a filter can match.
func check(h *spec.Handler, known spec.Known) []spec.Problem {
	var ps []spec.Problem
	// Checked once the timeout is valid on its own: one error at a time.
	if known("trigger", "visibility_timeout_s") && known("function", "timeout_s") && timeoutS.Contains(h.Function.TimeoutS) &&
		h.Trigger.VisibilityTimeoutS < h.Function.TimeoutS {
		ps = append(ps, spec.Problem{Path: []string{"trigger", "visibility_timeout_s"}, Summary: "Acknowledgement deadline below function timeout",
			Detail: fmt.Sprintf("trigger.visibility_timeout_s (%d) is the push request's timeout on gcp: it must be at least function.timeout_s (%d), or Pub/Sub redelivers a message still being processed.",
				h.Trigger.VisibilityTimeoutS, h.Function.TimeoutS)})
	}
	if known("trigger", "filter") {
		for _, k := range slices.Sorted(maps.Keys(h.Trigger.Filter)) {
			if !filterKeyRE.MatchString(k) {
				ps = append(ps, spec.Problem{Path: []string{"trigger", "filter"}, Summary: "Invalid trigger filter", Detail: fmt.Sprintf(
					"trigger.filter[%q]: on gcp a filter matches attributes named by letters, digits and underscores, starting with a letter or underscore "+
						"(a Pub/Sub filter names them as attributes.<name>).", k)})
			}
		}
	}
	return ps
}

// filterKeyRE: the attribute names a Pub/Sub filter names bare, as attributes.<name>.
var filterKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var timeoutS = spec.Range{Min: 1, Max: 600, Why: "a push request lasts at most the 600 s acknowledgement deadline"}

// regionRE is the shape of a Google Cloud region.
var regionRE = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+$`)

// checkRegion says what is wrong with a region name, or "".
func checkRegion(r string) string {
	if !regionRE.MatchString(r) {
		return fmt.Sprintf("region %q is not a Google Cloud region name such as europe-west1", r)
	}
	return ""
}
