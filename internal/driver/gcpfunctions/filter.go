package gcpfunctions

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// subscriptionFilter is trigger.filter as a Pub/Sub subscription filter, "" for none: the values of
// one attribute ORed, the attributes ANDed, each group in parentheses (Pub/Sub refuses AND and OR
// mixed without them), in sorted order so that the same filter is always the same string.
func subscriptionFilter(f map[string][]string) string {
	if len(f) == 0 {
		return ""
	}
	groups := make([]string, 0, len(f))
	for _, k := range slices.Sorted(maps.Keys(f)) {
		terms := make([]string, len(f[k]))
		for i, v := range f[k] {
			terms[i] = "attributes." + k + " = " + quote(v)
		}
		groups = append(groups, strings.Join(terms, " OR "))
	}
	if len(groups) == 1 {
		return groups[0]
	}
	return "(" + strings.Join(groups, ") AND (") + ")"
}

// quote writes v as a filter's string literal.
func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

var termRE = regexp.MustCompile(`attributes\.([A-Za-z_][A-Za-z0-9_]*) = "((?:[^"\\]|\\.)*)"`)

// filterOf reads a subscription's filter back; ok is false for one trigger.filter cannot express
// (written by someone else), which shows as drift.
func filterOf(filter string) (f map[string][]string, ok bool) {
	if filter == "" {
		return nil, true
	}
	f = map[string][]string{}
	for _, m := range termRE.FindAllStringSubmatch(filter, -1) {
		v := strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(m[2])
		f[m[1]] = append(f[m[1]], v)
	}
	return f, subscriptionFilter(f) == filter
}
