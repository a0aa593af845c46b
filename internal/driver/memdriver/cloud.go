package memdriver

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Name is the test-only cloud's name.
const Name spec.Cloud = "mem"

// Describe returns the description of the mem cloud whose drivers work in c.
func Describe(c *Cloud) *driver.Cloud {
	return &driver.Cloud{
		Name:       Name,
		Title:      "Mem",
		Components: components,
		Needs:      needs,
		Holds:      holds,
		Rules:      rules,
		Timeouts:   driver.Timeouts{Create: 20 * time.Minute, Update: 15 * time.Minute, Delete: 5 * time.Minute},
		ImportID:   "mem/<scope>/<name>",
		Settings: []driver.Setting{
			{Name: "scope", Type: driver.String, Description: "The mem cloud's scope (its account and region in one)."},
		},
		Open: func(_ context.Context, s driver.Settings) (driver.Driver, error) {
			scope := s.String("scope")
			if scope == "" {
				return nil, fmt.Errorf("set scope in the provider's mem block")
			}
			return c.Driver(scope), nil
		},
		Plan: func(prior, desired *spec.Handler) driver.Change {
			var ch driver.Change
			if prior.Trigger.Kind != desired.Trigger.Kind || prior.Trigger.Source != desired.Trigger.Source {
				ch.Replace = []driver.Component{driver.Topic, driver.Queue, driver.Subscription}
				ch.Warnings = append(ch.Warnings, driver.TriggerSwapWarning(prior, desired))
			}
			ch.Code = prior.Function.SourceHash != desired.Function.SourceHash
			return ch
		},
	}
}

// components: no log group and no mapping (the function pulls from its queue itself).
var components = []driver.ComponentInfo{
	{Component: driver.Identity, Display: "service identity"},
	{Component: driver.DeadLetter, Display: "dead-letter queue"},
	{Component: driver.DedupTable, Display: "dedup table"},
	{Component: driver.Topic, Display: "trigger topic"},
	{Component: driver.Queue, Display: "trigger queue"},
	{Component: driver.Subscription, Display: "trigger subscription"},
	{Component: driver.Function, Display: "function"},
}

// order is the components in creation order.
var order = driver.Order(components)

func needs(h *spec.Handler) []driver.Component { return plumbing.Needs(order, h) }

// holds is what each component keeps; the driver's reads follow it.
var holds = map[driver.Component][]string{
	driver.Function: {"function.runtime", "function.entry_point", "source_hash", "function.memory_mb", "function.timeout_s",
		"function.environment", "function.max_concurrency", "trigger.batch_size", "trigger.enabled", "tags"},
	driver.Queue:        {"trigger.visibility_timeout_s", "retry.max_attempts", "trigger.kind", "trigger.source"},
	driver.Topic:        {"trigger.kind", "trigger.source"},
	driver.Subscription: {"trigger.kind", "trigger.source"},
	driver.DeadLetter:   {"dead_letter.retention_days"},
	driver.DedupTable:   {"dedup.ttl_s"},
}

var (
	labelRE  = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	valueRE  = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
	sourceRE = regexp.MustCompile(`^mem/[a-z0-9-]+/(queues|topics)/[a-z0-9-]+$`)
)

var rules = &spec.Rules{
	Defaults: spec.Defaults{MemoryMB: 512, TimeoutS: 60, BatchSize: 1, MaxAttempts: 5, RetentionDays: 7, DedupTTLS: 3600},
	Runtimes: map[string]spec.Runtime{
		"nodejs22": {Name: "node22", EntryPoint: "handler"},
		"go":       {Name: "go", EntryPoint: "main"},
	},
	MemoryMB:           spec.Range{Min: 512, Max: 4096, Why: "the mem cloud's instance sizes"},
	MemorySizes:        []int64{512, 2048, 4096},
	TimeoutS:           spec.Range{Min: 1, Max: 600, Why: "the mem cloud's push deadline"},
	MaxConcurrency:     spec.Range{Min: 1, Max: 100},
	BatchSize:          spec.Range{Min: 1, Max: 100},
	VisibilityTimeoutS: spec.Range{Min: 10, Max: 600, Why: "an acknowledgement deadline"},
	VisibilityFactor:   1,
	MaxAttempts:        spec.Range{Min: 5, Max: 100, Why: "the mem cloud's delivery attempts"},
	RetentionDays:      spec.Range{Min: 1, Max: 31},
	DedupTTLS:          spec.Range{Min: 60, Max: 86400 * 30},
	ZipBytes:           10 << 20,
	UnzippedBytes:      50 << 20,
	ZipAdvice:          "Keep the mem cloud's packages small.",
	EnvBytes:           8 << 10,
	ReservedEnv:        []string{"MEM_SCOPE"},
	NameMaxLen:         30,
	Unsupported: map[string]string{
		"function.architecture":       "the mem cloud chooses the instruction set itself",
		"function.log_retention_days": "the mem cloud keeps no log group per function",
		"trigger.batch_window_s":      "the mem cloud delivers each event as it arrives",
		"retry.min_backoff_s":         "the mem cloud redelivers when the acknowledgement deadline ends",
		"trigger.filter":              "the mem cloud has no topics of its own to filter",
		"function.tables":             "the mem cloud has no tables to grant",
	},
	Tags: spec.TagRules{
		HandlerKey:     "threefactor-handler",
		ReservedPrefix: "threefactor-",
		Key: func(k string) string {
			if !labelRE.MatchString(k) {
				return "keys are 1-63 lowercase letters, digits, underscores and hyphens, starting with a letter."
			}
			return ""
		},
		Value: func(v string) string {
			if !valueRE.MatchString(v) {
				return "values are at most 63 lowercase letters, digits, underscores and hyphens."
			}
			return ""
		},
	},
	Source: func(kind spec.TriggerKind, source string) string {
		if m := sourceRE.FindStringSubmatch(source); m == nil || m[1] != string(kind)+"s" {
			return fmt.Sprintf("trigger.source must be the id of an existing %s (mem/<scope>/%ss/<name>) for trigger.kind %q, got %q.", kind, kind, kind, source)
		}
		return ""
	},
}

func sourceID(kind spec.TriggerKind, scope, name string) string {
	return "mem/" + scope + "/" + string(kind) + "s/" + name
}
