package azurefake

import (
	"net/http"
	"strings"
	"time"
)

const (
	typeNamespaces    = "Microsoft.ServiceBus/namespaces"
	typeQueues        = "Microsoft.ServiceBus/namespaces/queues"
	typeTopics        = "Microsoft.ServiceBus/namespaces/topics"
	typeSubscriptions = "Microsoft.ServiceBus/namespaces/topics/subscriptions"
	typeRules         = "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules"

	maxLockDuration = 5 * time.Minute
	minLockDuration = 5 * time.Second
)

func init() {
	register(&kind{
		typ: typeNamespaces, tracked: true, global: true, lroPut: true, lroDelete: true, patch: true,
		createStatus: http.StatusCreated, updateStatus: http.StatusOK,
		nameRule: func(name string) *armError {
			l := strings.ToLower(name)
			if !namespaceNamePattern.MatchString(name) || strings.HasSuffix(l, "-sb") || strings.HasSuffix(l, "-mgmt") {
				return badRequest("BadRequest", "The specified service namespace %q is invalid: 6-50 letters, digits and hyphens, starting with a letter, ending with a letter or digit, not ending in -sb or -mgmt.", name)
			}
			return nil
		},
		taken: func(name string) *armError {
			return errf(http.StatusConflict, "Conflict", "The namespace name %s is already in use: namespace names are globally unique.", name)
		},
		validate: func(_ *Server, _ *call, body map[string]any, old *resource) *armError {
			sku := str(body, "sku", "name")
			if sku != "Standard" && sku != "Premium" && sku != "Basic" {
				return badRequest("BadRequest", "sku.name %q: one of Basic, Standard, Premium.", sku)
			}
			if t := str(body, "sku", "tier"); t != "" && t != sku {
				return badRequest("BadRequest", "sku.tier %q must equal sku.name %q.", t, sku)
			}
			if old != nil && str(old.body, "sku", "name") == "Premium" && sku != "Premium" {
				return badRequest("BadRequest", "A Premium namespace cannot change tier.")
			}
			if v := str(body, "properties", "minimumTlsVersion"); v != "" && v != "1.0" && v != "1.1" && v != "1.2" {
				return badRequest("BadRequest", "properties.minimumTlsVersion %q: one of 1.0, 1.1, 1.2.", v)
			}
			setDefault(body, sku, "sku", "tier")
			setDefault(body, false, "properties", "disableLocalAuth")
			setDefault(body, "1.2", "properties", "minimumTlsVersion")
			return nil
		},
		render: func(_ *Server, r *resource, out map[string]any) {
			p := obj(out, "properties")
			p["serviceBusEndpoint"] = "https://" + strings.ToLower(r.name) + ".servicebus.windows.net:443/"
			p["status"] = "Active"
			if r.state == "Creating" {
				p["status"] = "Activating"
			}
		},
	})
	entity := func(typ string, parentCheck func(*Server, *call) *armError) *kind {
		return &kind{
			typ: typ,
			nameRule: func(name string) *armError {
				maxLen := 260
				if typ == typeSubscriptions || typ == typeRules {
					maxLen = 50
				}
				pat := entityNamePattern
				if typ == typeSubscriptions || typ == typeRules {
					pat = subNamePattern
				}
				// $Default, the rule a subscription starts with, can be written back once deleted.
				if typ == typeRules && name == "$Default" {
					return nil
				}
				if len(name) > maxLen || !pat.MatchString(name) {
					return badRequest("BadRequest", "The entity name %q is invalid: 1-%d letters, digits, '.', '-', '_'%s, starting and ending with a letter or digit.", name, maxLen, map[bool]string{true: " and '/'", false: ""}[maxLen == 260])
				}
				return nil
			},
			validate: func(s *Server, c *call, body map[string]any, old *resource) *armError {
				if parentCheck != nil {
					if e := parentCheck(s, c); e != nil {
						return e
					}
				}
				if typ == typeRules {
					return validateRule(body)
				}
				return validateEntity(s, c, typ, body, old)
			},
			render: func(s *Server, r *resource, out map[string]any) {
				if typ == typeSubscriptions || typ == typeQueues {
					renderCounts(s, r, out)
				}
			},
			created: func(s *Server, r *resource) {
				if typ != typeSubscriptions {
					return
				}
				id := r.id + "/rules/$Default"
				s.st.res[strings.ToLower(id)] = &resource{
					id: id, typ: typeRules, name: "$Default", sub: r.sub, rg: r.rg, created: time.Now(), implicit: true, state: "Succeeded",
					ro: map[string]any{}, extra: map[string]any{},
					body: map[string]any{"properties": map[string]any{"filterType": "SqlFilter", "sqlFilter": map[string]any{"sqlExpression": "1=1", "compatibilityLevel": float64(20)}, "action": map[string]any{}}},
				}
			},
		}
	}
	register(entity(typeQueues, nil))
	register(entity(typeTopics, func(s *Server, c *call) *armError {
		if ns := s.st.get(namespaceID(c.p)); ns != nil && str(ns.body, "sku", "name") == "Basic" {
			return badRequest("BadRequest", "SubCode=40000. Topics are not supported in the Basic tier.")
		}
		return nil
	}))
	register(entity(typeSubscriptions, nil))
	register(entity(typeRules, nil))
}

// namespaceID is the id of the namespace a Service Bus path is under.
func namespaceID(p *armPath) string {
	q := &armPath{scope: p.scope, ns: p.ns, types: p.types[:1], names: p.names[:1]}
	return q.id()
}

func validateEntity(s *Server, c *call, typ string, body map[string]any, _ *resource) *armError {
	props := ensureObj(body, "properties")
	if typ == typeQueues || typ == typeTopics {
		other := typeTopics
		if typ == typeTopics {
			other = typeQueues
		}
		otherID := namespaceID(c.p) + "/" + strings.ToLower(strings.TrimPrefix(other, typeNamespaces+"/")) + "/" + c.p.name()
		if s.st.get(otherID) != nil {
			return errf(http.StatusConflict, "MessagingEntityAlreadyExists", "The messaging entity '%s' already exists as a %s.", c.p.name(), strings.TrimPrefix(other, typeNamespaces+"/"))
		}
	}
	if typ != typeTopics {
		if v := str(props, "lockDuration"); v != "" {
			d, ok := parseISODuration(v)
			if !ok || d < minLockDuration || d > maxLockDuration {
				return badRequest("BadRequest", "The supplied lock time %q is invalid: an ISO 8601 duration from PT5S to PT5M.", v)
			}
		}
		if v, ok := number(props, "maxDeliveryCount"); ok && (v < 1 || v > 2000 || v != float64(int(v))) {
			return badRequest("BadRequest", "MaxDeliveryCount %v is invalid: 1 to 2000.", v)
		}
		for _, f := range []string{"forwardDeadLetteredMessagesTo", "forwardTo"} {
			to := str(props, f)
			if to == "" {
				continue
			}
			if strings.EqualFold(to, c.p.name()) && typ == typeQueues {
				return badRequest("BadRequest", "%s cannot name the entity itself (%s).", f, to)
			}
			base := namespaceID(c.p)
			if s.st.get(base+"/queues/"+to) == nil && s.st.get(base+"/topics/"+to) == nil {
				return badRequest("BadRequest", "%s: the entity %q does not exist in this namespace (forwarding works within one namespace).", f, to)
			}
		}
		setDefault(props, "PT1M", "lockDuration")
		setDefault(props, float64(10), "maxDeliveryCount")
		setDefault(props, false, "deadLetteringOnMessageExpiration")
	}
	if v := str(props, "defaultMessageTimeToLive"); v != "" {
		d, ok := parseISODuration(v)
		if !ok || d < time.Second {
			return badRequest("BadRequest", "defaultMessageTimeToLive %q is invalid: an ISO 8601 duration of at least PT1S.", v)
		}
	}
	if v := str(props, "autoDeleteOnIdle"); v != "" {
		if d, ok := parseISODuration(v); !ok || d < 5*time.Minute {
			return badRequest("BadRequest", "autoDeleteOnIdle %q is invalid: an ISO 8601 duration of at least PT5M.", v)
		}
	}
	setDefault(props, "P10675199DT2H48M5.4775807S", "defaultMessageTimeToLive")
	setDefault(props, "Active", "status")
	return nil
}

func validateRule(body map[string]any) *armError {
	props := ensureObj(body, "properties")
	switch ft := str(props, "filterType"); ft {
	case "SqlFilter":
		if strings.TrimSpace(str(props, "sqlFilter", "sqlExpression")) == "" {
			return badRequest("BadRequest", "A SqlFilter rule needs sqlFilter.sqlExpression.")
		}
		expr := str(props, "sqlFilter", "sqlExpression")
		if len(expr) > 1024 {
			return badRequest("BadRequest", "The length of the filter statement is %d, which exceeds the maximum length of 1024.", len(expr))
		}
		if _, err := parseSQL(expr); err != nil {
			return badRequest("BadRequest", "sqlFilter.sqlExpression %q: %v.", expr, err)
		}
	case "CorrelationFilter":
		cf := obj(props, "correlationFilter")
		set := false
		for k, v := range cf {
			if k == "requiresPreprocessing" {
				continue
			}
			if m, ok := v.(map[string]any); ok {
				set = set || len(m) > 0
			} else if v != nil && v != "" {
				set = true
			}
		}
		if !set {
			return badRequest("BadRequest", "A CorrelationFilter rule needs at least one property or system property to match.")
		}
	default:
		return badRequest("BadRequest", "filterType %q: SqlFilter or CorrelationFilter.", ft)
	}
	return nil
}
