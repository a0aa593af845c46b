package azurefake

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
)

// arm sends method on path (api-version added) with a JSON body through an arm pipeline; a
// long-running answer is polled to its end. Errors come back as *azcore.ResponseError.
func (e *env) arm(t *testing.T, method, path, version, body string) (map[string]any, error) {
	t.Helper()
	c, err := arm.NewClient("azurefake.test", "v0.0.1", e.cred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, err := runtime.NewRequest(e.ctx, method, e.s.URL()+path+sep+"api-version="+version)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		if err := req.SetBody(streaming.NopCloser(strings.NewReader(body)), "application/json"); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := c.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent) {
		return nil, runtime.NewResponseError(resp)
	}
	out := map[string]any{}
	if method == http.MethodGet || resp.StatusCode == http.StatusNoContent {
		return out, runtime.UnmarshalAsJSON(resp, &out)
	}
	p, err := runtime.NewPoller[map[string]any](resp, c.Pipeline(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return poll(e.ctx, p, nil)
}

const (
	workspaceVersion = "2022-10-01"
	insightsVersion  = "2020-02-02"
)

func TestWorkspaces(t *testing.T) {
	e := newEnv(t, Options{})
	id := "/subscriptions/" + e.sub + "/resourceGroups/" + e.rg + "/providers/Microsoft.OperationalInsights/workspaces/orders--logs"
	ws, err := e.arm(t, http.MethodPut, id, workspaceVersion, `{"location":"westeurope","properties":{"features":{"disableLocalAuth":true}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if str(ws, "properties", "sku", "name") != "PerGB2018" || str(ws, "properties", "provisioningState") != "Succeeded" || !isGUID(str(ws, "properties", "customerId")) {
		t.Errorf("new workspace: %v", ws)
	}
	if d, _ := number(ws, "properties", "retentionInDays"); d != 30 {
		t.Errorf("default retention %v, want 30", d)
	}
	customer := str(ws, "properties", "customerId")
	for _, tc := range []struct{ what, path, body, code string }{
		{"retention 7 on PerGB2018", id, `{"location":"westeurope","properties":{"retentionInDays":7}}`, "InvalidParameter"},
		{"retention 731", id, `{"location":"westeurope","properties":{"retentionInDays":731}}`, "InvalidParameter"},
		{"a legacy tier", id, `{"location":"westeurope","properties":{"sku":{"name":"Standalone"}}}`, "InvalidParameter"},
		{"a capacity reservation of 150 GB", id, `{"location":"westeurope","properties":{"sku":{"name":"CapacityReservation","capacityReservationLevel":150}}}`, "InvalidParameter"},
		{"a name of 3 characters", id[:strings.LastIndex(id, "/")+1] + "abc", `{"location":"westeurope"}`, "InvalidWorkspaceName"},
		{"a name ending with a hyphen", id + "-", `{"location":"westeurope"}`, "InvalidWorkspaceName"},
		{"no location", id, `{"properties":{}}`, "LocationRequired"},
	} {
		_, err := e.arm(t, http.MethodPut, tc.path, workspaceVersion, tc.body)
		wantCode(t, tc.what, err, http.StatusBadRequest, tc.code)
	}
	ws, err = e.arm(t, http.MethodPut, id, workspaceVersion, `{"location":"westeurope","properties":{"retentionInDays":730}}`)
	if d, _ := number(ws, "properties", "retentionInDays"); err != nil || d != 730 || str(ws, "properties", "customerId") != customer {
		t.Errorf("update to 730 days: %v, %v", ws, err)
	}
	_, err = e.arm(t, http.MethodGet, id, "2015-11-01-preview", "")
	wantCode(t, "another api-version", err, http.StatusBadRequest, "InvalidApiVersionParameter")

	// Without force=true a delete is soft: the name and the data stay, and a PUT recovers them.
	if _, err := e.arm(t, http.MethodDelete, id, workspaceVersion, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.arm(t, http.MethodGet, id, workspaceVersion, "")
	wantCode(t, "GET of a soft-deleted workspace", err, http.StatusNotFound, "ResourceNotFound")
	if left := e.s.Leftovers(); len(left) != 1 || !strings.HasSuffix(left[0], "(soft-deleted)") {
		t.Errorf("leftovers after a soft delete: %v, want the workspace listed soft-deleted", left)
	}
	ws, err = e.arm(t, http.MethodPut, id, workspaceVersion, `{"location":"westeurope"}`)
	if err != nil || str(ws, "properties", "customerId") != customer {
		t.Errorf("PUT of a soft-deleted workspace recovers it: %v, %v", ws, err)
	}
	if _, err := e.arm(t, http.MethodDelete, id+"?force=true", workspaceVersion, ""); err != nil {
		t.Fatal(err)
	}
	if left := e.s.Leftovers(); len(left) != 0 {
		t.Errorf("leftovers after a forced delete: %v", left)
	}
	if _, err := e.arm(t, http.MethodDelete, id+"?force=true", workspaceVersion, ""); err != nil {
		t.Errorf("deleting a missing workspace: %v, want 204", err)
	}
}

func TestInsightsComponents(t *testing.T) {
	e := newEnv(t, Options{})
	rg := "/subscriptions/" + e.sub + "/resourceGroups/" + e.rg
	ws := rg + "/providers/Microsoft.OperationalInsights/workspaces/orders--logs"
	id := rg + "/providers/Microsoft.Insights/components/orders"
	body := func(workspace string) string {
		return `{"location":"westeurope","kind":"web","tags":{"team":"orders"},"properties":{"Application_Type":"web","WorkspaceResourceId":"` + workspace + `","DisableLocalAuth":true}}`
	}
	_, err := e.arm(t, http.MethodPut, id, insightsVersion, body(ws))
	wantCode(t, "a component of a missing workspace", err, http.StatusBadRequest, "BadRequest")
	if _, err := e.arm(t, http.MethodPut, ws, workspaceVersion, `{"location":"westeurope"}`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ what, path, body string }{
		{"a classic component (no workspace)", id, `{"location":"westeurope","kind":"web","properties":{"Application_Type":"web"}}`},
		{"no kind", id, `{"location":"westeurope","properties":{"Application_Type":"web","WorkspaceResourceId":"` + ws + `"}}`},
		{"Application_Type java", id, `{"location":"westeurope","kind":"web","properties":{"Application_Type":"java","WorkspaceResourceId":"` + ws + `"}}`},
		{"ingestion mode ApplicationInsights", id, `{"location":"westeurope","kind":"web","properties":{"Application_Type":"web","IngestionMode":"ApplicationInsights","WorkspaceResourceId":"` + ws + `"}}`},
		{"retention 31", id, `{"location":"westeurope","kind":"web","properties":{"Application_Type":"web","RetentionInDays":31,"WorkspaceResourceId":"` + ws + `"}}`},
	} {
		_, err := e.arm(t, http.MethodPut, tc.path, insightsVersion, tc.body)
		wantCode(t, tc.what, err, http.StatusBadRequest, "BadRequest")
	}
	_, err = e.arm(t, http.MethodPut, rg+"/providers/Microsoft.Insights/components/bad.", insightsVersion, body(ws))
	wantCode(t, "a name ending with a period", err, http.StatusBadRequest, "InvalidResourceName")

	c, err := e.arm(t, http.MethodPut, id, insightsVersion, body(ws))
	if err != nil {
		t.Fatal(err)
	}
	cs := str(c, "properties", "ConnectionString")
	if local, _ := boolean(c, "properties", "DisableLocalAuth"); !local || str(c, "properties", "IngestionMode") != "LogAnalytics" ||
		!strings.HasPrefix(cs, "InstrumentationKey="+str(c, "properties", "InstrumentationKey")+";IngestionEndpoint=https://westeurope-0.in.applicationinsights.azure.com/") ||
		!strings.EqualFold(str(c, "properties", "WorkspaceResourceId"), ws) {
		t.Errorf("new component: %v", c)
	}
	again, err := e.arm(t, http.MethodPut, id, insightsVersion, body(ws))
	if err != nil || str(again, "properties", "ConnectionString") != cs {
		t.Errorf("a PUT of the same component keeps its connection string: %v, %v", again, err)
	}
	patched, err := e.arm(t, http.MethodPatch, id, insightsVersion, `{"tags":{"tier":"1"}}`)
	if err != nil || str(patched, "tags", "tier") != "1" || str(patched, "tags", "team") != "orders" {
		t.Errorf("PATCH of tags merges them: %v, %v", patched, err)
	}

	// Monitoring Metrics Publisher on the component, for an identity, goes with the component.
	mi := newIdentity(t, e, "orders-id")
	ras := must[*armauthorization.RoleAssignmentsClient](t, "client")(armauthorization.NewRoleAssignmentsClient(e.sub, e.cred, e.opts))
	const ra = "3b7e3a4e-1d3f-4b7c-9b6a-9d1b2c3d4e21"
	if _, err := ras.Create(e.ctx, id, ra, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr("/subscriptions/" + e.sub + "/providers/Microsoft.Authorization/roleDefinitions/3913510d-42f4-4e42-8a64-420c390055eb"),
		PrincipalID:      mi.Properties.PrincipalID, PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
	}}, nil); err != nil {
		t.Fatalf("Monitoring Metrics Publisher on the component: %v", err)
	}
	if _, err := e.arm(t, http.MethodDelete, id, insightsVersion, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.arm(t, http.MethodGet, id, insightsVersion, "")
	wantCode(t, "GET of a deleted component", err, http.StatusNotFound, "ResourceNotFound")
	if _, err := ras.Get(e.ctx, id, ra, nil); !isNotFound(err) {
		t.Errorf("the role assignment on a deleted component: %v, want 404", err)
	}
	if _, err := e.arm(t, http.MethodDelete, id, insightsVersion, ""); err != nil {
		t.Errorf("deleting a missing component: %v, want 204", err)
	}
}

func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}
