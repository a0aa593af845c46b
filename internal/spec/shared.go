package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// AppTopic is a fan-out topic an app's handlers share: it outlives any one handler, and each handler
// subscribed to it (trigger.kind = "topic" with its topic_id as trigger.source) gets every event.
type AppTopic struct {
	Name  string
	Cloud Cloud
	// RetentionDays is how long the topic keeps messages, on clouds where a topic retains any (zero
	// elsewhere: TopicRules.Unsupported).
	RetentionDays int64
	Tags          map[string]string
}

// AppTable is a key-value table for an app's state, which handlers are granted through function.tables.
type AppTable struct {
	Name  string
	Cloud Cloud
	// Key is the partition key attribute (a string).
	Key string
	// TTLAttribute, when set, names the attribute holding an item's expiry in epoch seconds.
	TTLAttribute string
	Tags         map[string]string
}

// Access is what a handler may do with a table it is granted.
type Access string

const (
	Read      Access = "read"
	ReadWrite Access = "read_write"
)

// TableGrant is one entry of function.tables: a table the handler reads or writes, by its table_id.
type TableGrant struct {
	TableID string
	Access  Access
}

// EnvTablePrefix starts the variable that locates a granted table: THREEFACTOR_TABLE_<NAME> for the
// grant named name, holding the table's store URL.
const EnvTablePrefix = EnvPrefix + "TABLE_"

// TableEnv is the variable that locates the table granted under name.
func TableEnv(name string) string { return EnvTablePrefix + strings.ToUpper(name) }

// TableStores returns the store URL of each table a function's variables locate, by grant name
// (what Env's tables became); nil when they locate none.
func TableStores(env map[string]string) map[string]string {
	var out map[string]string
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, EnvTablePrefix); ok {
			if out == nil {
				out = map[string]string{}
			}
			out[strings.ToLower(name)] = v
		}
	}
	return out
}

// FilterRules bound trigger.filter, which selects a topic's messages by their attributes: each key is
// a message attribute and its list the values that match (any one of them); all keys must match.
type FilterRules struct {
	// MaxKeys is the most attributes one filter names.
	MaxKeys int
	// MaxCombinations bounds the product of the lists' lengths (SNS counts a policy so); 0 for none.
	MaxCombinations int
	// MaxLen bounds the filter as the cloud writes it (Rendered's length); 0 for none.
	MaxLen int
	// Rendered is the filter as the cloud writes it, for MaxLen.
	Rendered func(f map[string][]string) string
	Why      string
}

// TopicRules are one cloud's limits of threefactor_topic.
type TopicRules struct {
	NameMinLen, NameMaxLen int
	// RetentionDays bounds retention_days; DefaultRetentionDays is its default.
	RetentionDays        Range
	DefaultRetentionDays int64
	// Unsupported names the topic settings the cloud lacks, with the reason.
	Unsupported map[string]string
}

// TableRules are one cloud's limits of threefactor_table.
type TableRules struct {
	NameMinLen, NameMaxLen int
	// Attribute returns what is wrong with an attribute name (key, ttl_attribute), or "".
	Attribute func(name string) string
	// TTLAttribute, when set, is the only ttl_attribute the cloud has (Cosmos DB expires an item by
	// its "ttl" property alone), and TTLWhy says what it means there.
	TTLAttribute, TTLWhy string
	// MaxTags, when set, bounds the tags a table takes (default_tags included) below the cloud's
	// bound for handlers, with the reason.
	MaxTags    int
	MaxTagsWhy string
	// Unsupported names the table settings the cloud lacks, with the reason.
	Unsupported map[string]string
}

// DefaultTableKey is a table's key attribute when key is unset; the runtime library's state writes use it.
const DefaultTableKey = "id"

var grantNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ValidateTopic checks t against its cloud's rules. Defaults must have been applied.
func ValidateTopic(t *AppTopic, r *Rules, known Known) []Problem {
	tr := r.Topics
	var ps []Problem
	if known("name") {
		msg := checkName(t.Name, max(tr.NameMinLen, 2), tr.NameMaxLen)
		if strings.HasSuffix(t.Name, ".fifo") {
			msg = "FIFO topics are not supported: a handler's queue gets every event at least once and in any order, which the runtime library " +
				"handles; drop the \".fifo\" suffix."
		}
		if msg != "" {
			ps = append(ps, Problem{Path: []string{"name"}, Summary: "Invalid topic name", Detail: strings.Replace(msg, "name must", "A topic's name must", 1)})
		}
	}
	if why, lacks := tr.Unsupported["retention_days"]; lacks && known("retention_days") && t.RetentionDays != 0 {
		ps = append(ps, Problem{Path: []string{"retention_days"}, Summary: "Setting not available on " + string(t.Cloud),
			Detail: fmt.Sprintf("retention_days is not available on %s: %s. Remove it.", t.Cloud, why)})
	} else if !lacks && known("retention_days") && !tr.RetentionDays.Contains(t.RetentionDays) {
		ps = append(ps, Problem{Path: []string{"retention_days"}, Summary: "Value out of range",
			Detail: fmt.Sprintf("retention_days must be between %d and %d days on %s%s, got %d.", tr.RetentionDays.Min, tr.RetentionDays.Max,
				t.Cloud, because(tr.RetentionDays.Why), t.RetentionDays)})
	}
	if known("tags") {
		ps = append(ps, CheckTagMap(t.Tags, t.Cloud, r, "tags")...)
	}
	return ps
}

// ValidateTable checks t against its cloud's rules. Defaults must have been applied.
func ValidateTable(t *AppTable, r *Rules, known Known) []Problem {
	tr := r.Tables
	var ps []Problem
	if known("name") {
		if msg := checkName(t.Name, max(tr.NameMinLen, 2), tr.NameMaxLen); msg != "" {
			ps = append(ps, Problem{Path: []string{"name"}, Summary: "Invalid table name", Detail: strings.Replace(msg, "name must", "A table's name must", 1)})
		}
	}
	for _, a := range []struct{ path, v string }{{"key", t.Key}, {"ttl_attribute", t.TTLAttribute}} {
		if !known(a.path) || a.v == "" && a.path == "ttl_attribute" {
			continue
		}
		if msg := tr.Attribute(a.v); msg != "" {
			ps = append(ps, Problem{Path: []string{a.path}, Summary: "Invalid attribute name", Detail: fmt.Sprintf("%s %q: %s", a.path, a.v, msg)})
		}
	}
	if known("ttl_attribute") && tr.TTLAttribute != "" && t.TTLAttribute != "" && t.TTLAttribute != tr.TTLAttribute {
		ps = append(ps, Problem{Path: []string{"ttl_attribute"}, Summary: "Invalid attribute name",
			Detail: fmt.Sprintf("ttl_attribute must be %q on %s, got %q: %s.", tr.TTLAttribute, t.Cloud, t.TTLAttribute, tr.TTLWhy)})
	}
	if why, lacks := tr.Unsupported["key"]; lacks && known("key") && t.Key != DefaultTableKey {
		ps = append(ps, Problem{Path: []string{"key"}, Summary: "Setting not available on " + string(t.Cloud),
			Detail: fmt.Sprintf("key is not available on %s: %s. Remove it.", t.Cloud, why)})
	}
	if known("key") && known("ttl_attribute") && t.Key == t.TTLAttribute {
		ps = append(ps, Problem{Path: []string{"ttl_attribute"}, Summary: "Invalid attribute name",
			Detail: fmt.Sprintf("ttl_attribute must differ from key (both are %q): an item's key cannot be its expiry.", t.Key)})
	}
	if why, lacks := tr.Unsupported["tags"]; lacks && known("tags") && len(t.Tags) > 0 {
		ps = append(ps, Problem{Path: []string{"tags"}, Summary: "Setting not available on " + string(t.Cloud),
			Detail: fmt.Sprintf("tags are not available on a table on %s: %s. Remove them (the provider's default_tags do not apply there).", t.Cloud, why)})
	} else if known("tags") {
		ps = append(ps, CheckTagMap(t.Tags, t.Cloud, r, "tags")...)
		if tr.MaxTags > 0 && len(t.Tags) > tr.MaxTags {
			ps = append(ps, Problem{Path: []string{"tags"}, Summary: "Too many tags",
				Detail: fmt.Sprintf("A table takes at most %d tags on %s, default_tags included%s; got %d.", tr.MaxTags, t.Cloud, because(tr.MaxTagsWhy), len(t.Tags))})
		}
	}
	return ps
}

// checkFilter checks trigger.filter against the cloud's filter rules.
func checkFilter(h *Handler, r *Rules, known Known) []Problem {
	f := h.Trigger.Filter
	if f == nil || !known("trigger", "filter") || !r.Supports("trigger.filter") || r.Filter == nil {
		return nil
	}
	path := []string{"trigger", "filter"}
	bad := func(format string, args ...any) []Problem {
		return []Problem{{Path: path, Summary: "Invalid trigger filter", Detail: fmt.Sprintf(format, args...)}}
	}
	if known("trigger", "kind") && h.Trigger.Kind != Topic {
		return bad("trigger.filter selects a topic's messages; it needs trigger.kind = \"topic\" (a queue hands every message to its one consumer).")
	}
	fr := r.Filter
	if len(f) == 0 {
		return bad("trigger.filter is empty: remove it to take every message, or name the attributes to match.")
	}
	if len(f) > fr.MaxKeys {
		return bad("trigger.filter names %d attributes; at most %d are allowed on %s%s.", len(f), fr.MaxKeys, h.Cloud, because(fr.Why))
	}
	combos := 1
	for _, k := range sortedKeys(f) {
		vs := f[k]
		switch {
		case k == "":
			return bad("trigger.filter has an empty attribute name.")
		case len(vs) == 0:
			return bad("trigger.filter[%q] lists no values: list the values that match, such as [\"order.created\"].", k)
		case slices.Contains(vs, ""):
			return bad("trigger.filter[%q] lists an empty value.", k)
		}
		combos *= len(vs)
	}
	if fr.MaxCombinations > 0 && combos > fr.MaxCombinations {
		return bad("trigger.filter matches %d combinations of values; at most %d are allowed on %s%s.", combos, fr.MaxCombinations, h.Cloud, because(fr.Why))
	}
	if fr.MaxLen > 0 {
		if s := fr.Rendered(f); len(s) > fr.MaxLen {
			return bad("trigger.filter is %d characters as %s writes it; at most %d are allowed%s.", len(s), h.Cloud, fr.MaxLen, because(fr.Why))
		}
	}
	return nil
}

// checkTables checks function.tables: names that make valid variables, a known access level and
// table ids of the cloud's form.
func checkTables(h *Handler, r *Rules, known Known) []Problem {
	if !known("function", "tables") || h.Function.Tables == nil {
		return nil
	}
	if len(h.Function.Tables) == 0 {
		return []Problem{{Path: []string{"function", "tables"}, Summary: "Invalid table grant", Detail: "function.tables is empty: remove it, or grant a table."}}
	}
	var ps []Problem
	for _, name := range sortedKeys(h.Function.Tables) {
		g := h.Function.Tables[name]
		var msg string
		switch {
		case !grantNameRE.MatchString(name) || len(name) > 40:
			msg = "names must be 1-40 lowercase letters, digits and underscores starting with a letter; the table is found at " + TableEnv("<name>") + "."
		case g.Access != Read && g.Access != ReadWrite:
			msg = fmt.Sprintf("access must be %q or %q, got %q.", Read, ReadWrite, g.Access)
		case g.TableID == "":
			msg = "table_id is empty: pass a threefactor_table's table_id."
		case r.TableID != nil:
			if msg = r.TableID(g.TableID); msg != "" && isImportID(h.Cloud, g.TableID) {
				msg = fmt.Sprintf("%q is a threefactor_table's id (its import id); pass its table_id instead.", g.TableID)
			}
		}
		if msg != "" {
			ps = append(ps, Problem{Path: []string{"function", "tables"}, Key: name, Summary: "Invalid table grant",
				Detail: fmt.Sprintf("function.tables[%q]: %s", name, msg)})
		}
	}
	return ps
}

// isImportID reports whether id, refused as a cloud id, has the form of this provider's import ids
// on cloud c ("<cloud>/<scope...>/<name>"), so the diagnostic can say which attribute was meant.
func isImportID(c Cloud, id string) bool {
	return strings.HasPrefix(id, string(c)+"/")
}
