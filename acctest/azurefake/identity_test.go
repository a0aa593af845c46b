package azurefake

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"
)

const receiverRole = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"

func TestIdentitiesAndRoleAssignments(t *testing.T) {
	e := newEnv(t, Options{PrincipalPropagation: time.Hour, Principals: []string{"99999999-9999-9999-9999-999999999999"}})
	mi := newIdentity(t, e, "orders-id")
	p := mi.Properties
	if p == nil || !isGUID(*p.PrincipalID) || !isGUID(*p.ClientID) || *p.TenantID != e.s.Tenant() {
		t.Fatalf("identity properties: %+v", p)
	}
	ids := must[*armmsi.UserAssignedIdentitiesClient](t, "client")(armmsi.NewUserAssignedIdentitiesClient(e.sub, e.cred, e.opts))
	again, err := ids.CreateOrUpdate(e.ctx, e.rg, "orders-id", armmsi.Identity{Location: to.Ptr("westeurope"), Tags: map[string]*string{"a": to.Ptr("b")}}, nil)
	if err != nil || *again.Properties.PrincipalID != *p.PrincipalID {
		t.Errorf("an update keeps the principal: %v, %v", again.Properties, err)
	}
	patched, err := ids.Update(e.ctx, e.rg, "orders-id", armmsi.IdentityUpdate{Tags: map[string]*string{"c": to.Ptr("d")}}, nil)
	if err != nil || len(patched.Tags) != 2 || *patched.Properties.PrincipalID != *p.PrincipalID {
		t.Errorf("PATCH merges tags and keeps the principal: %+v, %v", patched.Tags, err)
	}
	_, err = ids.CreateOrUpdate(e.ctx, e.rg, "x", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	wantCode(t, "identity name x", err, http.StatusBadRequest, "InvalidResourceName")

	nsc := must[*armservicebus.NamespacesClient](t, "client")(armservicebus.NewNamespacesClient(e.sub, e.cred, e.opts))
	pl, err := nsc.BeginCreateOrUpdate(e.ctx, e.rg, "orders-bus", armservicebus.SBNamespace{Location: to.Ptr("westeurope"), SKU: &armservicebus.SBSKU{Name: to.Ptr(armservicebus.SKUNameStandard)}}, nil)
	if _, err := poll(e.ctx, pl, err); err != nil {
		t.Fatal(err)
	}
	queues := must[*armservicebus.QueuesClient](t, "client")(armservicebus.NewQueuesClient(e.sub, e.cred, e.opts))
	q, err := queues.CreateOrUpdate(e.ctx, e.rg, "orders-bus", "orders", armservicebus.SBQueue{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	scope := *q.ID
	roleDef := "/subscriptions/" + e.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + receiverRole

	ras := must[*armauthorization.RoleAssignmentsClient](t, "client")(armauthorization.NewRoleAssignmentsClient(e.sub, e.cred, e.opts))
	create := func(name, scope, roleDef, principal string, ptype *armauthorization.PrincipalType) (armauthorization.RoleAssignment, error) {
		got, err := ras.Create(e.ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr(roleDef), PrincipalID: to.Ptr(principal), PrincipalType: ptype,
		}}, nil)
		return got.RoleAssignment, err
	}
	const ra1 = "3b7e3a4e-1d3f-4b7c-9b6a-9d1b2c3d4e01"
	_, err = create(ra1, scope, roleDef, *p.PrincipalID, nil)
	wantCode(t, "a new identity without principalType", err, http.StatusBadRequest, "PrincipalNotFound")
	_, err = create(ra1, scope, roleDef, *p.PrincipalID, to.Ptr(armauthorization.PrincipalTypeUser))
	wantCode(t, "a new identity as a User", err, http.StatusBadRequest, "PrincipalNotFound")
	_, err = create(ra1, scope, roleDef, "12345678-1234-1234-1234-123456789012", to.Ptr(armauthorization.PrincipalTypeServicePrincipal))
	wantCode(t, "an unknown principal", err, http.StatusBadRequest, "PrincipalNotFound")
	got, err := create(ra1, scope, roleDef, *p.PrincipalID, to.Ptr(armauthorization.PrincipalTypeServicePrincipal))
	if err != nil {
		t.Fatalf("role assignment with principalType ServicePrincipal: %v", err)
	}
	if *got.Properties.Scope != scope || *got.Properties.PrincipalType != armauthorization.PrincipalTypeServicePrincipal {
		t.Errorf("role assignment: %+v", got.Properties)
	}
	_, err = create("3b7e3a4e-1d3f-4b7c-9b6a-9d1b2c3d4e02", scope, roleDef, *p.PrincipalID, to.Ptr(armauthorization.PrincipalTypeServicePrincipal))
	wantCode(t, "the same assignment under another name", err, http.StatusConflict, "RoleAssignmentExists")
	_, err = create("not-a-guid", scope, roleDef, *p.PrincipalID, to.Ptr(armauthorization.PrincipalTypeServicePrincipal))
	wantCode(t, "a name that is not a GUID", err, http.StatusBadRequest, "InvalidRoleAssignmentId")
	_, err = create("3b7e3a4e-1d3f-4b7c-9b6a-9d1b2c3d4e03", scope, "/subscriptions/"+e.sub+"/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-00000000dead", *p.PrincipalID, to.Ptr(armauthorization.PrincipalTypeServicePrincipal))
	wantCode(t, "an unknown role", err, http.StatusBadRequest, "RoleDefinitionDoesNotExist")
	_, err = create("3b7e3a4e-1d3f-4b7c-9b6a-9d1b2c3d4e04", scope+"-missing", roleDef, *p.PrincipalID, to.Ptr(armauthorization.PrincipalTypeServicePrincipal))
	wantCode(t, "a missing scope", err, http.StatusNotFound, "ResourceNotFound")
	if _, err := create("3b7e3a4e-1d3f-4b7c-9b6a-9d1b2c3d4e05", "/subscriptions/"+e.sub+"/resourceGroups/"+e.rg, roleDef, "99999999-9999-9999-9999-999999999999", nil); err != nil {
		t.Errorf("a configured principal at resource group scope: %v", err)
	}

	// The assignment outlives the identity, and is deleted on its own.
	if _, err := ids.Delete(e.ctx, e.rg, "orders-id", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ras.Get(e.ctx, scope, ra1, nil); err != nil {
		t.Errorf("the assignment after its identity is deleted: %v", err)
	}
	// The SDK sends $filter as given: it must be encoded already (a raw space breaks the request line).
	filter := url.QueryEscape("principalId eq '" + *p.PrincipalID + "'")
	page, err := ras.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr(filter)}).NextPage(e.ctx)
	if err != nil || len(page.Value) != 1 || *page.Value[0].Name != ra1 {
		t.Errorf("role assignments of the principal at the queue: %+v, %v", page.Value, err)
	}
	page, err = ras.NewListForScopePager("/subscriptions/"+e.sub, nil).NextPage(e.ctx)
	if err != nil || len(page.Value) != 2 {
		t.Errorf("role assignments under the subscription: %d, %v", len(page.Value), err)
	}
	if raw, ok := e.s.Resource(scope + "/providers/Microsoft.Authorization/roleAssignments/" + ra1); !ok || str(raw, "properties", "principalId") != *p.PrincipalID {
		t.Errorf("Resource of the assignment: %v, %v", raw, ok)
	}
	for _, name := range []string{ra1, "3b7e3a4e-1d3f-4b7c-9b6a-9d1b2c3d4e05"} {
		sc := scope
		if name != ra1 {
			sc = "/subscriptions/" + e.sub + "/resourceGroups/" + e.rg
		}
		got, err := ras.Delete(e.ctx, sc, name, nil)
		if err != nil || got.Name == nil || *got.Name != name {
			t.Errorf("deleting role assignment %s: %+v, %v (want the deleted assignment back)", name, got, err)
		}
		if _, err := ras.Delete(e.ctx, sc, name, nil); err != nil {
			t.Errorf("deleting role assignment %s again: %v, want 204", name, err)
		}
	}
	dl, err := nsc.BeginDelete(e.ctx, e.rg, "orders-bus", nil)
	if _, err := poll(e.ctx, dl, err); err != nil {
		t.Fatal(err)
	}
	if left := e.s.Leftovers(); len(left) != 0 {
		t.Errorf("leftovers: %v", left)
	}
}

func TestPrincipalPropagationWindowPasses(t *testing.T) {
	e := newEnv(t, Options{PrincipalPropagation: 50 * time.Millisecond})
	mi := newIdentity(t, e, "billing-id")
	time.Sleep(60 * time.Millisecond)
	ras := must[*armauthorization.RoleAssignmentsClient](t, "client")(armauthorization.NewRoleAssignmentsClient(e.sub, e.cred, e.opts))
	_, err := ras.Create(e.ctx, "/subscriptions/"+e.sub+"/resourceGroups/"+e.rg, "3b7e3a4e-1d3f-4b7c-9b6a-9d1b2c3d4e09", armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr("/providers/Microsoft.Authorization/roleDefinitions/" + receiverRole), PrincipalID: mi.Properties.PrincipalID,
	}}, nil)
	if err != nil {
		t.Errorf("an identity older than the propagation window, no principalType: %v", err)
	}
}
