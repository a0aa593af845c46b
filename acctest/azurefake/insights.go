package azurefake

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

const (
	typeWorkspaces = "Microsoft.OperationalInsights/workspaces"
	typeComponents = "Microsoft.Insights/components"
)

var (
	workspaceNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$`)
	workspaceIDPattern   = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.OperationalInsights/workspaces/[^/]+$`)
	// capacityLevels are the daily GB a CapacityReservation workspace may reserve.
	capacityLevels = []float64{100, 200, 300, 400, 500, 1000, 2000, 5000}
	// classicRetention are the retentions a component's RetentionInDays takes.
	classicRetention = []float64{30, 60, 90, 120, 180, 270, 365, 550, 730}
)

func init() {
	register(&kind{
		typ: typeWorkspaces, tracked: true, lroPut: true, lroDelete: true, patch: true, softDelete: true,
		nameRule: func(name string) *armError {
			if !workspaceNamePattern.MatchString(name) {
				return badRequest("InvalidWorkspaceName", "The workspace name %q is invalid: 4-63 letters, digits and hyphens, starting and ending with a letter or digit.", name)
			}
			return nil
		},
		validate: validateWorkspace,
		created: func(_ *Server, r *resource) {
			r.ro["customerId"] = newGUID()
			r.ro["createdDate"] = r.created.UTC().Format(time.RFC3339)
		},
	})
	register(&kind{
		typ: typeComponents, tracked: true, patch: true,
		nameRule: func(name string) *armError {
			bad := name == "" || len(name) > 260 || strings.ContainsAny(name, `%&\?/`) || strings.HasSuffix(name, " ") || strings.HasSuffix(name, ".") ||
				strings.ContainsFunc(name, unicode.IsControl)
			if bad {
				return badRequest("InvalidResourceName", "The component name %q is invalid: 1-260 characters without %%&\\?/ or control characters, not ending with a space or a period.", name)
			}
			return nil
		},
		validate: validateComponent,
		created: func(s *Server, r *resource) {
			ikey, app := newGUID(), newGUID()
			loc := strings.ToLower(strings.ReplaceAll(s.opts.Location, " ", ""))
			r.ro["InstrumentationKey"] = ikey
			r.ro["AppId"] = app
			r.ro["ApplicationId"] = r.name
			r.ro["Name"] = r.name
			r.ro["TenantId"] = r.sub
			r.ro["CreationDate"] = r.created.UTC().Format(time.RFC3339)
			r.ro["ConnectionString"] = "InstrumentationKey=" + ikey + ";IngestionEndpoint=https://" + loc + "-0.in.applicationinsights.azure.com/;LiveEndpoint=https://" +
				loc + ".livediagnostics.monitor.azure.com/;ApplicationId=" + app
		},
	})
}

// validateWorkspace: PerGB2018 (the default) or CapacityReservation, retention 30-730 days
// (default 30), local (shared key) auth on unless features.disableLocalAuth.
func validateWorkspace(_ *Server, _ *call, body map[string]any, _ *resource) *armError {
	setDefault(body, "PerGB2018", "properties", "sku", "name")
	switch sku := str(body, "properties", "sku", "name"); sku {
	case "PerGB2018":
	case "CapacityReservation":
		if level, _ := number(body, "properties", "sku", "capacityReservationLevel"); !slices.Contains(capacityLevels, level) {
			return badRequest("InvalidParameter", "properties.sku.capacityReservationLevel %v: one of 100, 200, 300, 400, 500, 1000, 2000, 5000.", level)
		}
	case "Free", "Standard", "Premium", "PerNode", "Standalone":
		return badRequest("InvalidParameter", "The pricing tier %s is a legacy tier that subscriptions created after April 2018 cannot use: use PerGB2018.", sku)
	default:
		return badRequest("InvalidParameter", "properties.sku.name %q: one of PerGB2018, CapacityReservation.", sku)
	}
	setDefault(body, float64(30), "properties", "retentionInDays")
	if days, ok := number(body, "properties", "retentionInDays"); !ok || days != float64(int64(days)) || days < 30 || days > 730 {
		v, _ := field(body, "properties", "retentionInDays")
		return badRequest("InvalidParameter", "properties.retentionInDays %v: 30-730 days on this pricing tier.", v)
	}
	if _, set := boolean(body, "properties", "features", "disableLocalAuth"); !set {
		if _, present := field(body, "properties", "features", "disableLocalAuth"); present {
			return badRequest("InvalidParameter", "properties.features.disableLocalAuth must be a boolean.")
		}
		setDefault(body, false, "properties", "features", "disableLocalAuth")
	}
	return nil
}

// validateComponent: a workspace-based component (classic ones are retired: Azure would attach a
// component without WorkspaceResourceId to a default workspace in a resource group of its own,
// which the fake refuses rather than model) of an existing workspace.
func validateComponent(s *Server, _ *call, body map[string]any, _ *resource) *armError {
	if str(body, "kind") == "" {
		return badRequest("BadRequest", "The kind property is required (web, ios, other, store, java or phone).")
	}
	switch t := str(body, "properties", "Application_Type"); t {
	case "web", "other":
	default:
		return badRequest("BadRequest", "properties.Application_Type %q: one of web, other.", t)
	}
	ws := str(body, "properties", "WorkspaceResourceId")
	if !workspaceIDPattern.MatchString(ws) {
		return badRequest("BadRequest", "properties.WorkspaceResourceId %q: the ARM id of a Log Analytics workspace is required (classic Application Insights is retired).", ws)
	}
	if w := s.st.get(ws); w == nil || w.state == "Deleting" {
		return badRequest("BadRequest", "The Log Analytics workspace %s does not exist.", ws)
	}
	setDefault(body, "LogAnalytics", "properties", "IngestionMode")
	if m := str(body, "properties", "IngestionMode"); m != "LogAnalytics" {
		return badRequest("BadRequest", "properties.IngestionMode %q: a workspace-based component ingests in mode LogAnalytics.", m)
	}
	if _, present := field(body, "properties", "DisableLocalAuth"); present {
		if _, ok := boolean(body, "properties", "DisableLocalAuth"); !ok {
			return badRequest("BadRequest", "properties.DisableLocalAuth must be a boolean.")
		}
	}
	setDefault(body, false, "properties", "DisableLocalAuth")
	setDefault(body, float64(90), "properties", "RetentionInDays")
	if days, _ := number(body, "properties", "RetentionInDays"); !slices.Contains(classicRetention, days) {
		return badRequest("BadRequest", "properties.RetentionInDays %v: one of 30, 60, 90, 120, 180, 270, 365, 550, 730.", days)
	}
	return nil
}
