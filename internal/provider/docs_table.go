package provider

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// cloudTable is the resource docs' section "Defaults and limits per cloud", made from the clouds'
// descriptions so the docs cannot drift from what plan-time validation enforces. A planned cloud's
// column says so.
func cloudTable(cs clouds) string {
	var b strings.Builder
	row := func(cells ...string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	header := []string{"setting"}
	rule := []string{"---"}
	for _, c := range cs {
		header, rule = append(header, c.Title), append(rule, "---")
	}
	per := func(label string, f func(c *driver.Cloud) string) {
		cells := []string{label}
		for _, c := range cs {
			if c.Planned {
				cells = append(cells, "planned")
			} else {
				cells = append(cells, f(c))
			}
		}
		row(cells...)
	}
	// setting renders a setting's default and limit, or why the cloud lacks it.
	setting := func(path string, f func(r *spec.Rules) string) func(c *driver.Cloud) string {
		return func(c *driver.Cloud) string {
			if why, lacks := c.Rules.Unsupported[path]; lacks {
				return "not available: " + why
			}
			return f(c.Rules)
		}
	}
	ranged := func(def int64, r spec.Range, unit string) string {
		s := fmt.Sprintf("**%d**; %d-%d%s", def, r.Min, r.Max, unit)
		if r.Why != "" {
			s += " (" + r.Why + ")"
		}
		return s
	}

	b.WriteString("Defaults in bold; each limit is checked at plan, on the attribute that breaks it.\n\n")
	row(header...)
	row(rule...)
	per("`name` length", func(c *driver.Cloud) string {
		return fmt.Sprintf("%d-%d", max(c.Rules.NameMinLen, 2), c.Rules.NameMaxLen)
	})
	per("`function.runtime`", func(c *driver.Cloud) string {
		var rs []string
		for _, n := range spec.RuntimeNames {
			if rt, ok := c.Rules.Runtimes[n]; ok {
				rs = append(rs, fmt.Sprintf("`%s` (%s)", n, rt.Name))
			}
		}
		return strings.Join(rs, ", ")
	})
	per("`function.memory_mb`", setting("function.memory_mb", func(r *spec.Rules) string {
		if r.MemorySizes != nil {
			return fmt.Sprintf("**%d**; one of %s", r.Defaults.MemoryMB, joinInts(r.MemorySizes))
		}
		return ranged(r.Defaults.MemoryMB, r.MemoryMB, " MB")
	}))
	per("`function.timeout_s`", setting("function.timeout_s", func(r *spec.Rules) string { return ranged(r.Defaults.TimeoutS, r.TimeoutS, " s") }))
	per("`function.architecture`", setting("function.architecture", func(r *spec.Rules) string {
		return fmt.Sprintf("**%s**; %s", r.Defaults.Architecture, strings.Join(r.Architectures, ", "))
	}))
	per("`function.max_concurrency`", setting("function.max_concurrency", func(r *spec.Rules) string {
		return fmt.Sprintf("unset; %d-%d", r.MaxConcurrency.Min, r.MaxConcurrency.Max)
	}))
	per("`function.log_retention_days`", setting("function.log_retention_days", func(r *spec.Rules) string {
		return fmt.Sprintf("**%d**; one of %s", r.Defaults.LogRetentionDays, joinInts(r.LogRetention))
	}))
	per("environment, all variables", func(c *driver.Cloud) string { return fmt.Sprintf("%d KB", c.Rules.EnvBytes>>10) })
	per("code package", func(c *driver.Cloud) string {
		return fmt.Sprintf("%d MB zipped, %d MB unzipped", c.Rules.ZipBytes>>20, c.Rules.UnzippedBytes>>20)
	})
	per("`trigger.batch_size`", setting("trigger.batch_size", func(r *spec.Rules) string {
		s := ranged(r.Defaults.BatchSize, r.BatchSize, "")
		if r.BatchSizeNeedsWindow > 0 {
			s += fmt.Sprintf("; above %d needs `batch_window_s` ≥ 1", r.BatchSizeNeedsWindow)
		}
		return s
	}))
	per("`trigger.batch_window_s`", setting("trigger.batch_window_s", func(r *spec.Rules) string { return ranged(r.Defaults.BatchWindowS, r.BatchWindowS, " s") }))
	per("`trigger.visibility_timeout_s`", setting("trigger.visibility_timeout_s", func(r *spec.Rules) string {
		return fmt.Sprintf("**%d × `timeout_s` + `batch_window_s`**; %d-%d s, at least `timeout_s`", r.VisibilityFactor, r.VisibilityTimeoutS.Min, r.VisibilityTimeoutS.Max)
	}))
	per("`retry.max_attempts`", setting("retry.max_attempts", func(r *spec.Rules) string { return ranged(r.Defaults.MaxAttempts, r.MaxAttempts, "") }))
	per("`retry.min_backoff_s`", setting("retry.min_backoff_s", func(r *spec.Rules) string { return ranged(r.Defaults.MinBackoffS, r.MinBackoffS, " s") }))
	per("`dead_letter.retention_days`", setting("dead_letter.retention_days", func(r *spec.Rules) string {
		return ranged(r.Defaults.RetentionDays, r.RetentionDays, " days")
	}))
	per("`dedup.ttl_s`", setting("dedup.ttl_s", func(r *spec.Rules) string { return ranged(r.Defaults.DedupTTLS, r.DedupTTLS, " s") }))
	per("`trigger.filter`", setting("trigger.filter", func(r *spec.Rules) string {
		f := r.Filter
		s := fmt.Sprintf("unset; at most %d attributes", f.MaxKeys)
		if f.MaxCombinations > 0 {
			s += fmt.Sprintf(", %d combinations of values", f.MaxCombinations)
		}
		if f.MaxLen > 0 {
			s += fmt.Sprintf(", %d characters", f.MaxLen)
		}
		return s + " (" + f.Why + ")"
	}))
	per("`threefactor_topic`", func(c *driver.Cloud) string {
		t := c.Rules.Topics
		if t == nil {
			return "not yet"
		}
		s := fmt.Sprintf("name %d-%d", max(t.NameMinLen, 2), t.NameMaxLen)
		if why, lacks := t.Unsupported["retention_days"]; lacks {
			return s + "; `retention_days` not available: " + why
		}
		return s + "; `retention_days` " + ranged(t.DefaultRetentionDays, t.RetentionDays, " days")
	})
	per("`threefactor_table`", func(c *driver.Cloud) string {
		t := c.Rules.Tables
		if t == nil {
			return "not yet"
		}
		s := fmt.Sprintf("name %d-%d", max(t.NameMinLen, 2), t.NameMaxLen)
		if t.TTLAttribute != "" {
			s += fmt.Sprintf("; `ttl_attribute` only `%s` (%s)", t.TTLAttribute, t.TTLWhy)
		}
		if t.MaxTags > 0 {
			s += fmt.Sprintf("; at most %d tags (%s)", t.MaxTags, t.MaxTagsWhy)
		}
		for _, attr := range slices.Sorted(maps.Keys(t.Unsupported)) {
			s += "; `" + attr + "` not available: " + t.Unsupported[attr]
		}
		return s
	})
	per("`timeouts` (create, update, delete)", func(c *driver.Cloud) string {
		return fmt.Sprintf("**%s, %s, %s**", c.Timeouts.Create, c.Timeouts.Update, c.Timeouts.Delete)
	})
	per("tag keys", func(c *driver.Cloud) string { return fmt.Sprintf("`%s` is reserved", c.Rules.Tags.HandlerKey) })
	per("`components`", func(c *driver.Cloud) string {
		var names []string
		for _, ci := range c.Components {
			names = append(names, fmt.Sprintf("`%s` (%s)", ci.Component, ci.Display))
		}
		return strings.Join(names, ", ")
	})
	per("import id", func(c *driver.Cloud) string { return "`" + c.ImportID + "`" })

	b.WriteString("\nWhat a setting becomes on each cloud:\n\n")
	row(header...)
	row(rule...)
	for _, path := range []string{"function.timeout_s", "function.architecture", "function.max_concurrency", "function.log_retention_days",
		"function.tables", "trigger.enabled", "trigger.filter", "trigger.batch_size", "trigger.batch_window_s", "trigger.visibility_timeout_s",
		"retry.max_attempts", "retry.min_backoff_s", "dead_letter.retention_days", "dedup.ttl_s"} {
		per("`"+path+"`", func(c *driver.Cloud) string {
			if why, lacks := c.Rules.Unsupported[path]; lacks {
				return "not available: " + why
			}
			return c.Meaning[path]
		})
	}
	return b.String()
}

func joinInts(vs []int64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}
