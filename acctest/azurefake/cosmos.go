package azurefake

import (
	"net/http"
	"strings"
)

const (
	typeCosmosAccounts    = "Microsoft.DocumentDB/databaseAccounts"
	typeSQLDatabases      = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases"
	typeSQLContainers     = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"
	typeSQLRoleAssigns    = "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments"
	typeSQLRoleDefs       = "Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions"
	cosmosDataReader      = "00000000-0000-0000-0000-000000000001"
	cosmosDataContributor = "00000000-0000-0000-0000-000000000002"
)

func init() {
	register(&kind{
		typ: typeCosmosAccounts, tracked: true, global: true, lroPut: true, lroDelete: true, patch: true,
		nameRule: func(name string) *armError {
			if !cosmosNamePattern.MatchString(name) {
				return badRequest("BadRequest", "The database account name %q is invalid: 3-44 lowercase letters, digits and hyphens, starting and ending with a letter or digit.", name)
			}
			return nil
		},
		taken: func(name string) *armError {
			return errf(http.StatusConflict, "Conflict", "Database account %s already exists: Cosmos DB account names are globally unique (Dns record for %s under zone Document is already taken).", name, name)
		},
		validate: validateCosmosAccount,
		render: func(_ *Server, r *resource, out map[string]any) {
			p := obj(out, "properties")
			p["documentEndpoint"] = "https://" + r.name + ".documents.azure.com:443/"
			if _, ok := out["kind"]; !ok {
				out["kind"] = "GlobalDocumentDB"
			}
		},
	})
	register(&kind{
		typ: typeSQLDatabases, lroPut: true, lroDelete: true, createStatus: http.StatusAccepted, updateStatus: http.StatusAccepted,
		nameRule: cosmosResourceName, render: renderRID,
		validate: func(_ *Server, c *call, body map[string]any, _ *resource) *armError {
			return checkCosmosResource(c, body)
		},
	})
	register(&kind{
		typ: typeSQLContainers, lroPut: true, lroDelete: true, createStatus: http.StatusAccepted, updateStatus: http.StatusAccepted,
		nameRule: cosmosResourceName, render: renderRID,
		validate: validateSQLContainer,
	})
	register(&kind{
		typ: typeSQLRoleAssigns, lroPut: true, lroDelete: true, createStatus: http.StatusAccepted, updateStatus: http.StatusAccepted,
		nameRule: func(name string) *armError {
			if !isGUID(name) {
				return badRequest("BadRequest", "The SQL role assignment id %q must be a GUID.", name)
			}
			return nil
		},
		validate: validateSQLRoleAssignment,
	})
	register(&kind{typ: typeSQLRoleDefs, custom: (*Server).handleSQLRoleDefinition})
}

func cosmosResourceName(name string) *armError {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, `/\#?`) || strings.HasSuffix(name, " ") {
		return badRequest("BadRequest", "The resource name %q is invalid: 1-255 characters without / \\ # ? and no trailing space.", name)
	}
	return nil
}

func serverless(account map[string]any) bool {
	caps, _ := field(account, "properties", "capabilities")
	list, _ := caps.([]any)
	for _, c := range list {
		if m, ok := c.(map[string]any); ok && str(m, "name") == "EnableServerless" {
			return true
		}
	}
	return false
}

func validateCosmosAccount(_ *Server, _ *call, body map[string]any, old *resource) *armError {
	if t := str(body, "properties", "databaseAccountOfferType"); t != "Standard" {
		return badRequest("BadRequest", "properties.databaseAccountOfferType %q: must be Standard.", t)
	}
	if k := str(body, "kind"); k != "" && k != "GlobalDocumentDB" {
		return badRequest("BadRequest", "kind %q is not served: the fake serves GlobalDocumentDB (SQL API) accounts only.", k)
	}
	locs, _ := field(body, "properties", "locations")
	list, _ := locs.([]any)
	if len(list) == 0 {
		return badRequest("BadRequest", "properties.locations needs at least one location.")
	}
	if serverless(body) && len(list) > 1 {
		return badRequest("BadRequest", "Serverless accounts support a single region only.")
	}
	if old != nil && serverless(old.body) != serverless(body) {
		return badRequest("BadRequest", "The EnableServerless capability cannot be added to or removed from an existing account.")
	}
	setDefault(body, false, "properties", "disableLocalAuth")
	setDefault(body, map[string]any{"defaultConsistencyLevel": "Session"}, "properties", "consistencyPolicy")
	return nil
}

// cosmosAccount is the account of a Cosmos child path.
func (s *Server) cosmosAccount(p *armPath) *resource {
	q := &armPath{scope: p.scope, ns: p.ns, types: p.types[:1], names: p.names[:1]}
	return s.st.get(q.id())
}

func checkCosmosResource(c *call, body map[string]any) *armError {
	if id := str(body, "properties", "resource", "id"); id != c.p.name() {
		return badRequest("BadRequest", "properties.resource.id %q must equal the resource name %q.", id, c.p.name())
	}
	if opts := obj(body, "properties", "options"); len(opts) > 0 {
		return badRequest("BadRequest", "Setting offer throughput or autopilot is not supported for serverless accounts.")
	}
	return nil
}

func validateSQLContainer(s *Server, c *call, body map[string]any, old *resource) *armError {
	if e := checkCosmosResource(c, body); e != nil {
		return e
	}
	if tags := obj(body, "tags"); len(tags) > 15 {
		return badRequest("BadRequest", "A maximum of 15 tags can be provided for a resource, got %d.", len(tags))
	}
	if a := s.cosmosAccount(c.p); a != nil && !serverless(a.body) {
		return badRequest("BadRequest", "The fake serves serverless (EnableServerless) accounts only.")
	}
	res := obj(body, "properties", "resource")
	pk := obj(res, "partitionKey")
	pathsV, _ := field(pk, "paths")
	paths, _ := pathsV.([]any)
	kind := str(pk, "kind")
	if kind == "" {
		kind = "Hash"
	}
	maxPaths := 1
	if kind == "MultiHash" {
		maxPaths = 3
	}
	if len(paths) == 0 || len(paths) > maxPaths || (kind != "Hash" && kind != "MultiHash") {
		return badRequest("BadRequest", "partitionKey: %s takes 1 to %d paths.", kind, maxPaths)
	}
	for _, p := range paths {
		ps, _ := p.(string)
		if !strings.HasPrefix(ps, "/") || len(ps) < 2 {
			return badRequest("BadRequest", "The partition key path %q must start with '/'.", ps)
		}
	}
	if old != nil {
		was := obj(old.body, "properties", "resource", "partitionKey")
		if wp, _ := field(was, "paths"); !sameJSON(wp, pathsV) {
			return badRequest("BadRequest", "The partition key of a container cannot change.")
		}
	}
	if v, ok := number(res, "defaultTtl"); ok && (v == 0 || v < -1 || v > 2147483647 || v != float64(int64(v))) {
		return badRequest("BadRequest", "defaultTtl %v is invalid: -1 (no default expiry) or 1 to 2147483647 seconds.", v)
	}
	setDefault(pk, kind, "kind")
	setDefault(pk, float64(2), "version")
	return nil
}

func sameJSON(a, b any) bool {
	return mustJSON(a) == mustJSON(b)
}

func validateSQLRoleAssignment(s *Server, c *call, body map[string]any, _ *resource) *armError {
	account := s.cosmosAccount(c.p)
	props := obj(body, "properties")
	if !isGUID(str(props, "principalId")) {
		return badRequest("BadRequest", "properties.principalId %q must be a GUID.", str(props, "principalId"))
	}
	def := str(props, "roleDefinitionId")
	prefix := strings.ToLower(account.id + "/sqlRoleDefinitions/")
	name, ok := strings.CutPrefix(strings.ToLower(def), prefix)
	if !ok || (name != cosmosDataReader && name != cosmosDataContributor) {
		return badRequest("BadRequest", "The SQL role definition %q does not exist in this account (built-in: %s/{%s,%s}).", def, account.id+"/sqlRoleDefinitions", cosmosDataReader, cosmosDataContributor)
	}
	scope := str(props, "scope")
	ls := strings.ToLower(scope)
	la := strings.ToLower(account.id)
	if ls != la && !strings.HasPrefix(ls, la+"/dbs/") {
		return badRequest("BadRequest", "The scope %q must be the account or under it (<account id>/dbs/<database>[/colls/<container>]).", scope)
	}
	return nil
}

// handleSQLRoleDefinition serves GET of the built-in data-plane role definitions.
func (s *Server) handleSQLRoleDefinition(c *call) *reply {
	account := s.cosmosAccount(c.p)
	if account == nil {
		return errReply(notFound(&armPath{ns: c.p.ns, rg: c.p.rg, scope: c.p.scope, types: c.p.types[:1], names: c.p.names[:1]}))
	}
	if c.r.Method != http.MethodGet {
		return errReply(errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The fake serves only the built-in SQL role definitions, read-only."))
	}
	names := map[string]string{cosmosDataReader: "Cosmos DB Built-in Data Reader", cosmosDataContributor: "Cosmos DB Built-in Data Contributor"}
	n := strings.ToLower(c.p.name())
	role, ok := names[n]
	if !ok {
		return errReply(notFound(c.p))
	}
	return jsonReply(http.StatusOK, map[string]any{
		"id": account.id + "/sqlRoleDefinitions/" + n, "name": n, "type": typeSQLRoleDefs,
		"properties": map[string]any{"roleName": role, "type": "BuiltInRole", "assignableScopes": []string{account.id}},
	})
}
