package azurefake

import (
	"net/http"
	"slices"
	"strings"
)

const (
	typePlans = "Microsoft.Web/serverfarms"
	typeSites = "Microsoft.Web/sites"
)

// flexRuntimes are the Flex Consumption runtimes and versions the fake accepts.
var flexRuntimes = map[string][]string{
	"node":            {"20", "22"},
	"python":          {"3.10", "3.11", "3.12"},
	"dotnet-isolated": {"8.0", "9.0"},
	"java":            {"11", "17", "21"},
	"powershell":      {"7.4"},
	"custom":          {"1.0"},
}

// flexReservedSettings are app settings Flex Consumption refuses: it configures them itself.
var flexReservedSettings = []string{
	"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
	"WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_NODE_DEFAULT_VERSION",
	"FUNCTIONS_MAX_HTTP_CONCURRENCY", "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT", "SCALE_CONTROLLER_LOGGING_ENABLED",
}

func init() {
	register(&kind{
		typ: typePlans, tracked: true, lroPut: true, createStatus: http.StatusAccepted, updateStatus: http.StatusAccepted, patch: true,
		nameRule: func(name string) *armError {
			if !planNamePattern.MatchString(name) {
				return badRequest("InvalidResourceName", "The plan name %q is invalid: 1-60 letters, digits or hyphens.", name)
			}
			return nil
		},
		validate: func(_ *Server, _ *call, body map[string]any, _ *resource) *armError {
			if n, t := str(body, "sku", "name"), str(body, "sku", "tier"); n != "FC1" || (t != "" && t != "FlexConsumption") {
				return badRequest("InvalidSku", "The sku %s/%s is not served: the fake serves Flex Consumption plans only (sku name FC1, tier FlexConsumption).", n, t)
			}
			if r, _ := boolean(body, "properties", "reserved"); !r {
				return badRequest("InvalidParameter", "Flex Consumption plans are Linux only: properties.reserved must be true.")
			}
			if k := strings.ToLower(str(body, "kind")); k != "" && !strings.Contains(k, "functionapp") && !strings.Contains(k, "linux") {
				return badRequest("InvalidParameter", "The kind %q of a Flex Consumption plan must be functionapp (or linux).", k)
			}
			setDefault(body, "FlexConsumption", "sku", "tier")
			return nil
		},
		render: func(s *Server, r *resource, out map[string]any) {
			n := 0
			for _, o := range s.st.res {
				if strings.EqualFold(o.typ, typeSites) && strings.EqualFold(str(o.body, "properties", "serverFarmId"), r.id) {
					n++
				}
			}
			obj(out, "properties")["numberOfSites"] = n
			obj(out, "properties")["status"] = "Ready"
		},
		beforeDelete: func(s *Server, r *resource) *armError {
			for _, o := range s.st.res {
				if strings.EqualFold(o.typ, typeSites) && strings.EqualFold(str(o.body, "properties", "serverFarmId"), r.id) {
					return errf(http.StatusConflict, "Conflict", "Server farm '%s' cannot be deleted because it has web app(s) %s assigned to it.", r.name, o.name)
				}
			}
			return nil
		},
	})
	register(&kind{
		typ: typeSites, tracked: true, global: true, lroPut: true, createStatus: http.StatusAccepted, updateStatus: http.StatusAccepted, patch: true,
		nameRule: func(name string) *armError {
			if !siteNamePattern.MatchString(name) {
				return badRequest("InvalidResourceName", "The site name %q is invalid: 2-60 letters, digits or hyphens, not starting or ending with a hyphen.", name)
			}
			return nil
		},
		taken: func(name string) *armError {
			return errf(http.StatusConflict, "Conflict", "Website with given name %s already exists.", name)
		},
		validate: validateSite,
		created: func(_ *Server, r *resource) {
			if m := siteConfigSettings(r.body); m != nil {
				r.extra["appSettings"] = m
			}
		},
		render: renderSite,
	})
	register(&kind{typ: "Microsoft.Web/sites/config", custom: (*Server).handleSiteConfig})
	register(&kind{typ: "Microsoft.Web/sites/basicPublishingCredentialsPolicies", custom: (*Server).handlePublishingPolicy})
}

func validateSite(s *Server, _ *call, body map[string]any, old *resource) *armError {
	k := strings.ToLower(str(body, "kind"))
	if !strings.Contains(k, "functionapp") || !strings.Contains(k, "linux") {
		return badRequest("InvalidParameter", "The kind %q is not served: the fake serves Linux function apps on Flex Consumption (kind functionapp,linux).", k)
	}
	planID := str(body, "properties", "serverFarmId")
	plan := s.st.get(planID)
	if plan == nil {
		return errf(http.StatusNotFound, "NotFound", "Cannot find ServerFarm with name %s.", planID)
	}
	if old != nil && !strings.EqualFold(str(old.body, "properties", "serverFarmId"), planID) {
		return badRequest("BadRequest", "A Flex Consumption app cannot move to another plan.")
	}
	ids := obj(body, "identity", "userAssignedIdentities")
	for id := range ids {
		if s.st.get(id) == nil || !strings.EqualFold(s.st.get(id).typ, typeIdentities) {
			return badRequest("BadRequest", "The user-assigned identity '%s' was not found.", id)
		}
	}
	if t := str(body, "identity", "type"); len(ids) > 0 && !strings.Contains(t, "UserAssigned") {
		return badRequest("BadRequest", "identity.type must include UserAssigned when userAssignedIdentities are given.")
	}
	cfg := obj(body, "properties", "functionAppConfig")
	if cfg == nil {
		return badRequest("BadRequest", "properties.functionAppConfig is required for a Flex Consumption app.")
	}
	st := obj(cfg, "deployment", "storage")
	if str(st, "type") != "blobContainer" {
		return badRequest("BadRequest", "functionAppConfig.deployment.storage.type must be blobContainer.")
	}
	if e := s.checkDeploymentContainer(str(st, "value")); e != nil {
		return e
	}
	switch auth := str(st, "authentication", "type"); auth {
	case "UserAssignedIdentity":
		id := str(st, "authentication", "userAssignedIdentityResourceId")
		found := false
		for k := range ids {
			found = found || strings.EqualFold(k, id)
		}
		if !found {
			return badRequest("BadRequest", "The deployment storage identity '%s' must be one of the app's user-assigned identities.", id)
		}
	case "SystemAssignedIdentity":
		if !strings.Contains(str(body, "identity", "type"), "SystemAssigned") {
			return badRequest("BadRequest", "SystemAssignedIdentity deployment storage authentication needs a system-assigned identity.")
		}
	case "StorageAccountConnectionString":
		if str(st, "authentication", "storageAccountConnectionStringName") == "" {
			return badRequest("BadRequest", "StorageAccountConnectionString authentication needs storageAccountConnectionStringName.")
		}
	default:
		return badRequest("BadRequest", "functionAppConfig.deployment.storage.authentication.type %q: one of UserAssignedIdentity, SystemAssignedIdentity, StorageAccountConnectionString.", auth)
	}
	rt, ver := str(cfg, "runtime", "name"), str(cfg, "runtime", "version")
	versions, ok := flexRuntimes[rt]
	if !ok {
		return badRequest("BadRequest", "functionAppConfig.runtime.name %q is not a Flex Consumption runtime.", rt)
	}
	if !slices.Contains(versions, ver) {
		return badRequest("BadRequest", "functionAppConfig.runtime.version %q is not supported for %s on Flex Consumption (%s).", ver, rt, strings.Join(versions, ", "))
	}
	if m, ok := number(cfg, "scaleAndConcurrency", "instanceMemoryMB"); ok && m != 512 && m != 2048 && m != 4096 {
		return badRequest("BadRequest", "functionAppConfig.scaleAndConcurrency.instanceMemoryMB %v: one of 512, 2048, 4096.", m)
	}
	if n, ok := number(cfg, "scaleAndConcurrency", "maximumInstanceCount"); ok && (n < 1 || n > 1000 || n != float64(int(n))) {
		return badRequest("BadRequest", "functionAppConfig.scaleAndConcurrency.maximumInstanceCount %v: 1 to 1000.", n)
	}
	setDefault(body, float64(2048), "properties", "functionAppConfig", "scaleAndConcurrency", "instanceMemoryMB")
	setDefault(body, float64(100), "properties", "functionAppConfig", "scaleAndConcurrency", "maximumInstanceCount")
	if m := siteConfigSettings(body); m != nil {
		if e := checkAppSettings(m); e != nil {
			return e
		}
	}
	setDefault(body, false, "properties", "httpsOnly")
	return nil
}

// checkDeploymentContainer requires https://<account>.blob.core.windows.net/<container> of an
// existing account and container.
func (s *Server) checkDeploymentContainer(value string) *armError {
	rest, ok := strings.CutPrefix(value, "https://")
	host, container, _ := strings.Cut(rest, "/")
	account, isBlob := strings.CutSuffix(host, ".blob.core.windows.net")
	if !ok || !isBlob || container == "" || strings.Contains(container, "/") {
		return badRequest("BadRequest", "functionAppConfig.deployment.storage.value %q: want https://<account>.blob.core.windows.net/<container>.", value)
	}
	for _, r := range s.st.res {
		if strings.EqualFold(r.typ, typeContainers) && strings.EqualFold(r.name, container) && strings.Contains(strings.ToLower(r.id), "/storageaccounts/"+strings.ToLower(account)+"/") {
			return nil
		}
	}
	return badRequest("BadRequest", "The deployment storage container %q does not exist.", value)
}

// siteConfigSettings are the app settings of properties.siteConfig.appSettings, or nil.
func siteConfigSettings(body map[string]any) map[string]any {
	settings, ok := field(body, "properties", "siteConfig", "appSettings")
	if !ok {
		return nil
	}
	list, _ := settings.([]any)
	m := map[string]any{}
	for _, it := range list {
		nv, _ := it.(map[string]any)
		m[str(nv, "name")] = nv["value"]
	}
	return m
}

func checkAppSettings(m map[string]any) *armError {
	for name, v := range m {
		if !appSettingPattern.MatchString(name) {
			return badRequest("BadRequest", "App setting name %q is invalid: letters, digits, '_', '.', ':' and '-' only.", name)
		}
		if _, ok := v.(string); !ok && v != nil {
			return badRequest("BadRequest", "App setting %q: the value must be a string.", name)
		}
		for _, r := range flexReservedSettings {
			if strings.EqualFold(name, r) {
				return badRequest("BadRequest", "The app setting %s is not valid for Flex Consumption apps: the platform sets it.", name)
			}
		}
	}
	return nil
}

func renderSite(s *Server, r *resource, out map[string]any) {
	props := obj(out, "properties")
	host := strings.ToLower(r.name) + "." + s.opts.SCMSuffix
	scm := strings.ToLower(r.name) + ".scm." + s.opts.SCMSuffix
	props["defaultHostName"] = host
	props["enabledHostNames"] = []string{host, scm}
	props["hostNames"] = []string{host}
	props["hostNameSslStates"] = []any{
		map[string]any{"name": host, "sslState": "Disabled", "hostType": "Standard"},
		map[string]any{"name": scm, "sslState": "Disabled", "hostType": "Repository"},
	}
	props["state"] = "Running"
	props["sku"] = "FlexConsumption"
	delete(props, "siteConfig")
	if ids := obj(out, "identity", "userAssignedIdentities"); ids != nil {
		for id := range ids {
			if mi := s.st.get(id); mi != nil {
				ids[id] = map[string]any{"principalId": mi.ro["principalId"], "clientId": mi.ro["clientId"]}
			}
		}
	}
	if strings.Contains(str(out, "identity", "type"), "SystemAssigned") {
		ensureObj(out, "identity")["principalId"] = systemPrincipal(r)
		ensureObj(out, "identity")["tenantId"] = s.opts.Tenant
	}
}

// systemPrincipal derives a stable principal id for a site's system-assigned identity.
func systemPrincipal(r *resource) string {
	if p, ok := r.extra["systemPrincipalId"].(string); ok {
		return p
	}
	p := newGUID()
	r.extra["systemPrincipalId"] = p
	return p
}

func (s *Server) site(c *call) (*resource, *armError) {
	q := &armPath{scope: c.p.scope, ns: c.p.ns, types: c.p.types[:1], names: c.p.names[:1], rg: c.p.rg}
	r := s.st.get(q.id())
	if r == nil || r.state == "Deleting" {
		return nil, notFound(q)
	}
	return r, nil
}

// handleSiteConfig serves PUT config/appsettings and POST config/appsettings/list.
func (s *Server) handleSiteConfig(c *call) *reply {
	site, e := s.site(c)
	if e != nil {
		return errReply(e)
	}
	if !strings.EqualFold(c.p.name(), "appsettings") {
		return errReply(badRequest("BadRequest", "The fake serves config/appsettings only, not config/%s.", c.p.name()))
	}
	id := site.id + "/config/appsettings"
	out := func() *reply {
		settings := site.extra["appSettings"]
		if settings == nil {
			settings = map[string]any{}
		}
		return jsonReply(http.StatusOK, map[string]any{"id": id, "name": "appsettings", "type": "Microsoft.Web/sites/config", "properties": settings})
	}
	switch {
	case c.r.Method == http.MethodPost && strings.EqualFold(c.p.action, "list"):
		return out()
	case c.r.Method == http.MethodPut && c.p.action == "":
		body, e := c.decode()
		if e != nil {
			return errReply(e)
		}
		props := obj(body, "properties")
		if props == nil {
			props = map[string]any{}
		}
		if e := checkAppSettings(props); e != nil {
			return errReply(e)
		}
		site.extra["appSettings"] = props
		return out()
	}
	return errReply(errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The fake serves PUT config/appsettings and POST config/appsettings/list."))
}

// handlePublishingPolicy serves basicPublishingCredentialsPolicies/ftp and /scm (allowed unless
// turned off).
func (s *Server) handlePublishingPolicy(c *call) *reply {
	site, e := s.site(c)
	if e != nil {
		return errReply(e)
	}
	name := strings.ToLower(c.p.name())
	if name != "ftp" && name != "scm" || c.p.action != "" {
		return errReply(notFound(c.p))
	}
	key := "publishing_" + name
	switch c.r.Method {
	case http.MethodPut:
		body, e := c.decode()
		if e != nil {
			return errReply(e)
		}
		allow, ok := boolean(body, "properties", "allow")
		if !ok {
			return errReply(badRequest("BadRequest", "properties.allow is required."))
		}
		site.extra[key] = allow
	case http.MethodGet:
	default:
		return errReply(errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "GET or PUT only."))
	}
	allow, ok := site.extra[key].(bool)
	if !ok {
		allow = true
	}
	return jsonReply(http.StatusOK, map[string]any{
		"id": site.id + "/basicPublishingCredentialsPolicies/" + name, "name": name,
		"type":       "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
		"properties": map[string]any{"allow": allow},
	})
}
