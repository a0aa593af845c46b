package azurefake

import (
	"net/http"
	"strings"
	"time"
)

const (
	typeIdentities      = "Microsoft.ManagedIdentity/userAssignedIdentities"
	typeRoleAssignments = "Microsoft.Authorization/roleAssignments"
)

// BuiltinRoles are the Azure built-in role definitions the fake knows, by GUID.
var BuiltinRoles = map[string]string{
	"8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
	"b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
	"acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
	"4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
	"69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
	"090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
	"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
	"ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
	"974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
	"0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
	"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
	"17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
}

func init() {
	register(&kind{
		typ: typeIdentities, tracked: true, createStatus: http.StatusCreated, patch: true,
		nameRule: func(name string) *armError {
			if !identityNamePattern.MatchString(name) {
				return badRequest("InvalidResourceName", "The identity name %q is invalid: 3-128 letters, digits, '-' or '_', starting with a letter or digit.", name)
			}
			return nil
		},
		created: func(s *Server, r *resource) {
			r.ro["principalId"] = newGUID()
			r.ro["clientId"] = newGUID()
			r.ro["tenantId"] = s.opts.Tenant
		},
		render: func(_ *Server, r *resource, out map[string]any) {
			delete(obj(out, "properties"), "provisioningState")
		},
	})
	register(&kind{
		typ: typeRoleAssignments, createStatus: http.StatusCreated, deleteBody: true,
		nameRule: func(name string) *armError {
			if !isGUID(name) {
				return badRequest("InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)
			}
			return nil
		},
		validate: validateRoleAssignment,
		render: func(_ *Server, r *resource, out map[string]any) {
			p := obj(out, "properties")
			delete(p, "provisioningState")
			p["scope"] = strings.TrimSuffix(r.id, "/providers/Microsoft.Authorization/roleAssignments/"+r.name)
			p["createdOn"] = r.created.UTC().Format(time.RFC3339)
		},
	})
}

// principal is what the directory knows of a principal id.
func (s *Server) principal(id string) (identity *resource, known bool) {
	for _, p := range s.opts.Principals {
		if strings.EqualFold(p, id) {
			return nil, true
		}
	}
	for _, r := range s.st.res {
		if strings.EqualFold(r.typ, typeIdentities) && strings.EqualFold(str(r.ro, "principalId"), id) {
			return r, true
		}
		if strings.EqualFold(r.typ, typeSites) && strings.EqualFold(str(r.extra, "systemPrincipalId"), id) {
			return r, true
		}
	}
	return nil, false
}

func validateRoleAssignment(s *Server, c *call, body map[string]any, old *resource) *armError {
	props := obj(body, "properties")
	if props == nil {
		return badRequest("InvalidRequestContent", "properties is required.")
	}
	scope := c.p.scope
	if scope == "" {
		return badRequest("InvalidScope", "The fake serves role assignments under a subscription scope only.")
	}
	if e := s.checkScope(scope); e != nil {
		return e
	}
	def := str(props, "roleDefinitionId")
	guid := def[strings.LastIndex(def, "/")+1:]
	defOK := strings.Contains(strings.ToLower(def), "/providers/microsoft.authorization/roledefinitions/") && isGUID(guid)
	if _, builtin := BuiltinRoles[strings.ToLower(guid)]; defOK && !builtin {
		defOK = false
		for _, r := range s.opts.RoleDefinitions {
			defOK = defOK || strings.EqualFold(r, guid)
		}
	}
	if !defOK {
		return badRequest("RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", guid)
	}
	pid := str(props, "principalId")
	ptype := str(props, "principalType")
	switch ptype {
	case "", "User", "Group", "ServicePrincipal", "ForeignGroup", "Device":
	default:
		return badRequest("InvalidPrincipalType", "The principal type '%s' is not valid.", ptype)
	}
	identity, known := s.principal(pid)
	young := identity != nil && s.opts.PrincipalPropagation > 0 && time.Since(identity.created) < s.opts.PrincipalPropagation
	if !known || (young && ptype != "ServicePrincipal") {
		return badRequest("PrincipalNotFound",
			"Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group. See https://aka.ms/docs-principaltype",
			strings.ReplaceAll(pid, "-", ""), s.opts.Tenant)
	}
	if old != nil {
		op := obj(old.body, "properties")
		if !strings.EqualFold(str(op, "principalId"), pid) || !strings.EqualFold(str(op, "roleDefinitionId"), def) {
			return errf(http.StatusConflict, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
		}
		return nil
	}
	for _, r := range s.st.res {
		if !strings.EqualFold(r.typ, typeRoleAssignments) {
			continue
		}
		rp := obj(r.body, "properties")
		rs := strings.TrimSuffix(strings.ToLower(r.id), "/providers/microsoft.authorization/roleassignments/"+strings.ToLower(r.name))
		if rs == strings.ToLower(scope) && strings.EqualFold(str(rp, "principalId"), pid) && strings.EqualFold(guidOf(str(rp, "roleDefinitionId")), guid) {
			return errf(http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists. The ID of the existing role assignment is %s.", strings.ReplaceAll(r.name, "-", ""))
		}
	}
	setDefault(props, "User", "principalType")
	return nil
}

func guidOf(def string) string { return def[strings.LastIndex(def, "/")+1:] }

// checkScope requires a role assignment's scope to exist: the subscription, a resource group, or a
// resource the fake serves (resources of types it does not serve are taken on trust).
func (s *Server) checkScope(scope string) *armError {
	p := parsePath(scope)
	if !s.hasSubscription(p.sub) {
		return errf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", p.sub)
	}
	if p.rg != "" && !s.hasResourceGroup(p.rg) {
		return errf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", p.rg)
	}
	if p.ns == "" {
		return nil
	}
	k := kinds[strings.ToLower(p.fullType())]
	if k == nil || k.custom != nil {
		return nil
	}
	if r := s.st.get(p.id()); r == nil || r.state == "Deleting" {
		return notFound(p)
	}
	return nil
}
