package azurefunctions

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// Rules of a subscription: Service Bus copies a message into a subscription when any of its rules
// matches. A new subscription gets $Default (1=1); trigger.filter replaces it with filterRule.
const (
	defaultRule     = "$Default"
	defaultRuleExpr = "1=1"
	filterRule      = "threefactor-filter"
	// maxFilterLen is Service Bus's limit on a SQL filter expression.
	maxFilterLen = 1024
)

var (
	sqlIdentRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// sqlKeywords cannot be bare property names.
	sqlKeywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IN": true, "IS": true, "NULL": true, "LIKE": true,
		"ESCAPE": true, "EXISTS": true, "TRUE": true, "FALSE": true, "SET": true, "REMOVE": true}
)

// sqlFilter is trigger.filter as a Service Bus SQL filter over the message's application
// (user) properties: one term per attribute, in key order, joined by AND; a list is an IN.
func sqlFilter(f map[string][]string) string {
	if len(f) == 0 {
		return ""
	}
	terms := make([]string, 0, len(f))
	for _, k := range slices.Sorted(maps.Keys(f)) {
		vs := make([]string, len(f[k]))
		for i, v := range f[k] {
			vs[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		if len(vs) == 1 {
			terms = append(terms, sqlName(k)+" = "+vs[0])
		} else {
			terms = append(terms, sqlName(k)+" IN ("+strings.Join(vs, ", ")+")")
		}
	}
	return strings.Join(terms, " AND ")
}

// sqlName is a property name as SQL filters take it: bare when it is an identifier, else delimited.
func sqlName(k string) string {
	if sqlIdentRE.MatchString(k) && !sqlKeywords[strings.ToUpper(k)] {
		return k
	}
	return "[" + strings.ReplaceAll(k, "]", "]]") + "]"
}

// parseSQLFilter reads back what sqlFilter writes; ok is false for an expression it does not write
// (a rule changed outside Terraform).
func parseSQLFilter(expr string) (f map[string][]string, ok bool) {
	toks, ok := sqlTokens(expr)
	if !ok || len(toks) == 0 {
		return nil, false
	}
	f = map[string][]string{}
	for i := 0; i < len(toks); {
		if i > 0 {
			if !strings.EqualFold(toks[i], "AND") {
				return nil, false
			}
			i++
		}
		if i+2 >= len(toks) {
			return nil, false
		}
		name, isName := sqlPropertyOf(toks[i])
		if !isName || f[name] != nil {
			return nil, false
		}
		switch {
		case toks[i+1] == "=":
			v, isStr := sqlStringOf(toks[i+2])
			if !isStr {
				return nil, false
			}
			f[name] = []string{v}
			i += 3
		case strings.EqualFold(toks[i+1], "IN") && toks[i+2] == "(":
			i += 3
			for {
				if i+1 >= len(toks) {
					return nil, false
				}
				v, isStr := sqlStringOf(toks[i])
				if !isStr {
					return nil, false
				}
				f[name] = append(f[name], v)
				i += 2
				if toks[i-1] == ")" {
					break
				}
				if toks[i-1] != "," {
					return nil, false
				}
			}
		default:
			return nil, false
		}
	}
	return f, true
}

// sqlTokens splits a SQL filter into names, 'strings', [delimited names] and punctuation.
func sqlTokens(s string) ([]string, bool) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			i++
		case '\'', '[':
			end := byte('\'')
			if c == '[' {
				end = ']'
			}
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == end {
					if j+1 < len(s) && s[j+1] == end {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return nil, false
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		case '=', '(', ')', ',':
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] >= '0' && s[j] <= '9' || s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') {
				j++
			}
			if j == i {
				return nil, false
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, true
}

func sqlPropertyOf(tok string) (string, bool) {
	if strings.HasPrefix(tok, "[") {
		return strings.ReplaceAll(tok[1:len(tok)-1], "]]", "]"), true
	}
	return tok, sqlIdentRE.MatchString(tok) && !sqlKeywords[strings.ToUpper(tok)]
}

func sqlStringOf(tok string) (string, bool) {
	if len(tok) < 2 || tok[0] != '\'' {
		return "", false
	}
	return strings.ReplaceAll(tok[1:len(tok)-1], "''", "'"), true
}

// wantRules are the rules a subscription has for filter f: the filter's alone, or $Default.
func wantRules(f map[string][]string) map[string]string {
	if len(f) == 0 {
		return map[string]string{defaultRule: defaultRuleExpr}
	}
	return map[string]string{filterRule: sqlFilter(f)}
}

// filterOfRules is trigger.filter as a subscription's rules hold it; ok is false for rules this
// driver does not write (a rule added or changed outside Terraform).
func filterOfRules(rules map[string]string) (f map[string][]string, ok bool) {
	if len(rules) != 1 {
		return nil, false
	}
	if expr, has := rules[filterRule]; has {
		return parseSQLFilter(expr)
	}
	return nil, rules[defaultRule] == defaultRuleExpr
}

// readRules returns the subscription's rules, each name with its SQL expression ("" for a rule of
// another filter type).
func (d *Driver) readRules(ctx context.Context, subID string) (map[string]string, error) {
	r, err := arm.ParseResourceID(subID)
	if err != nil {
		return nil, fail(driver.Subscription, "parsing", subID, err)
	}
	out := map[string]string{}
	pages := d.rules.NewListBySubscriptionsPager(r.ResourceGroupName, r.Parent.Parent.Name, r.Parent.Name, r.Name, nil)
	for pages.More() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fail(driver.Subscription, "reading the rules of", subID, err)
		}
		for _, rule := range page.Value {
			expr := ""
			if p := rule.Properties; p != nil && p.SQLFilter != nil && deref(p.FilterType) == armservicebus.FilterTypeSQLFilter {
				expr = deref(p.SQLFilter.SQLExpression)
			}
			out[deref(rule.Name)] = expr
		}
	}
	return out, nil
}

// applyRules makes the subscription's rules those of filter f. The wanted rule is written before
// the others go, so the subscription never has no rule (it would then take no message at all).
func (d *Driver) applyRules(ctx context.Context, subID string, have map[string]string, f map[string][]string) error {
	want := wantRules(f)
	r, err := arm.ParseResourceID(subID)
	if err != nil {
		return fail(driver.Subscription, "parsing", subID, err)
	}
	ns, topic, sub := r.Parent.Parent.Name, r.Parent.Name, r.Name
	for name, expr := range want {
		if cur, ok := have[name]; ok && cur == expr {
			continue
		}
		_, err := d.rules.CreateOrUpdate(ctx, r.ResourceGroupName, ns, topic, sub, name, armservicebus.Rule{Properties: &armservicebus.Ruleproperties{
			FilterType: to.Ptr(armservicebus.FilterTypeSQLFilter), SQLFilter: &armservicebus.SQLFilter{SQLExpression: to.Ptr(expr)},
		}}, nil)
		if err != nil {
			return fail(driver.Subscription, "writing the filter rule of", subID, err)
		}
	}
	for name := range have {
		if _, keep := want[name]; keep {
			continue
		}
		if _, err := d.rules.Delete(ctx, r.ResourceGroupName, ns, topic, sub, name, nil); codes.IgnoreNotFound(err) != nil {
			return fail(driver.Subscription, "deleting the rule "+name+" of", subID, err)
		}
	}
	return nil
}
