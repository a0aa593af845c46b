package azurefake

import (
	"archive/zip"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
)

func newIdentity(t *testing.T, e *env, name string) armmsi.Identity {
	t.Helper()
	c := must[*armmsi.UserAssignedIdentitiesClient](t, "client")(armmsi.NewUserAssignedIdentitiesClient(e.sub, e.cred, e.opts))
	got, err := c.CreateOrUpdate(e.ctx, e.rg, name, armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	if err != nil {
		t.Fatalf("creating identity %s: %v", name, err)
	}
	return got.Identity
}

func newPlan(t *testing.T, e *env, name string) string {
	t.Helper()
	plans := must[*armappservice.PlansClient](t, "client")(armappservice.NewPlansClient(e.sub, e.cred, e.opts))
	p, err := plans.BeginCreateOrUpdate(e.ctx, e.rg, name, armappservice.Plan{
		Location: to.Ptr("westeurope"), Kind: to.Ptr("functionapp"),
		SKU:        &armappservice.SKUDescription{Name: to.Ptr("FC1"), Tier: to.Ptr("FlexConsumption")},
		Properties: &armappservice.PlanProperties{Reserved: to.Ptr(true)},
	}, nil)
	got, err := poll(e.ctx, p, err)
	if err != nil {
		t.Fatalf("creating plan %s: %v", name, err)
	}
	return *got.ID
}

func site(planID, identityID, container string, memory, maxCount int32) armappservice.Site {
	return armappservice.Site{
		Location: to.Ptr("westeurope"), Kind: to.Ptr("functionapp,linux"),
		Identity: &armappservice.ManagedServiceIdentity{
			Type:                   to.Ptr(armappservice.ManagedServiceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armappservice.UserAssignedIdentity{identityID: {}},
		},
		Properties: &armappservice.SiteProperties{
			ServerFarmID: to.Ptr(planID), HTTPSOnly: to.Ptr(true),
			FunctionAppConfig: &armappservice.FunctionAppConfig{
				Deployment: &armappservice.FunctionsDeployment{Storage: &armappservice.FunctionsDeploymentStorage{
					Type:  to.Ptr(armappservice.FunctionsDeploymentStorageTypeBlobContainer),
					Value: to.Ptr(container),
					Authentication: &armappservice.FunctionsDeploymentStorageAuthentication{
						Type: to.Ptr(armappservice.AuthenticationTypeUserAssignedIdentity), UserAssignedIdentityResourceID: to.Ptr(identityID),
					},
				}},
				Runtime:             &armappservice.FunctionsRuntime{Name: to.Ptr(armappservice.RuntimeNameNode), Version: to.Ptr("22")},
				ScaleAndConcurrency: &armappservice.FunctionsScaleAndConcurrency{InstanceMemoryMB: to.Ptr(memory), MaximumInstanceCount: to.Ptr(maxCount)},
			},
			SiteConfig: &armappservice.SiteConfig{AppSettings: []*armappservice.NameValuePair{{Name: to.Ptr("AzureWebJobsStorage__accountName"), Value: to.Ptr("tfdeploy01")}}},
		},
	}
}

const otherSubscription = "00000000-0000-0000-0000-0000000000b2"

func TestFunctionApp(t *testing.T) {
	e := newEnv(t, Options{Subscriptions: []string{DefaultSubscription, otherSubscription}})
	newStorage(t, e, "tfdeploy01", "deploy")
	mi := newIdentity(t, e, "orders-id")
	planID := newPlan(t, e, "orders-plan")
	apps := must[*armappservice.WebAppsClient](t, "client")(armappservice.NewWebAppsClient(e.sub, e.cred, e.opts))
	container := "https://tfdeploy01.blob.core.windows.net/deploy"
	create := func(name string, s armappservice.Site) (armappservice.Site, error) {
		p, err := apps.BeginCreateOrUpdate(e.ctx, e.rg, name, s, nil)
		got, err := poll(e.ctx, p, err)
		return got.Site, err
	}
	got, err := create("orders", site(planID, *mi.ID, container, 2048, 40))
	if err != nil {
		t.Fatalf("creating the site: %v", err)
	}
	if *got.Properties.DefaultHostName != "orders.azurewebsites.net" || !*got.Properties.HTTPSOnly ||
		*got.Identity.UserAssignedIdentities[*mi.ID].PrincipalID != *mi.Properties.PrincipalID {
		t.Errorf("site as created: host %v httpsOnly %v identity %+v", *got.Properties.DefaultHostName, *got.Properties.HTTPSOnly, got.Identity.UserAssignedIdentities[*mi.ID])
	}
	if sc := got.Properties.FunctionAppConfig.ScaleAndConcurrency; *sc.InstanceMemoryMB != 2048 || *sc.MaximumInstanceCount != 40 {
		t.Errorf("scale and concurrency: %d MB, %d instances", *sc.InstanceMemoryMB, *sc.MaximumInstanceCount)
	}

	for _, tc := range []struct {
		what string
		s    armappservice.Site
	}{
		{"memory 1024", site(planID, *mi.ID, container, 1024, 40)},
		{"1001 instances", site(planID, *mi.ID, container, 2048, 1001)},
		{"0 instances", site(planID, *mi.ID, container, 2048, 0)},
		{"a missing container", site(planID, *mi.ID, "https://tfdeploy01.blob.core.windows.net/none", 2048, 40)},
		{"an identity the site lacks", func() armappservice.Site {
			s := site(planID, *mi.ID, container, 2048, 40)
			s.Properties.FunctionAppConfig.Deployment.Storage.Authentication.UserAssignedIdentityResourceID = to.Ptr(strings.Replace(*mi.ID, "orders-id", "other", 1))
			return s
		}()},
		{"FUNCTIONS_WORKER_RUNTIME", func() armappservice.Site {
			s := site(planID, *mi.ID, container, 2048, 40)
			s.Properties.SiteConfig.AppSettings = append(s.Properties.SiteConfig.AppSettings, &armappservice.NameValuePair{Name: to.Ptr("FUNCTIONS_WORKER_RUNTIME"), Value: to.Ptr("node")})
			return s
		}()},
		{"runtime node 18", func() armappservice.Site {
			s := site(planID, *mi.ID, container, 2048, 40)
			s.Properties.FunctionAppConfig.Runtime.Version = to.Ptr("18")
			return s
		}()},
		{"kind app", func() armappservice.Site {
			s := site(planID, *mi.ID, container, 2048, 40)
			s.Kind = to.Ptr("app")
			return s
		}()},
	} {
		_, err := create("orders-bad", tc.s)
		wantCode(t, tc.what, err, http.StatusBadRequest, map[bool]string{true: "InvalidParameter", false: "BadRequest"}[tc.what == "kind app"])
	}
	_, err = create("orders", site(planID, *mi.ID, container, 4096, 1000))
	if err != nil {
		t.Errorf("updating the site in place: %v", err)
	}
	otherApps := must[*armappservice.WebAppsClient](t, "client")(armappservice.NewWebAppsClient(otherSubscription, e.cred, e.opts))
	op, err := otherApps.BeginCreateOrUpdate(e.ctx, e.rg, "orders", site(planID, *mi.ID, container, 2048, 40), nil)
	_, err = poll(e.ctx, op, err)
	wantCode(t, "a site name taken in another subscription", err, http.StatusConflict, "Conflict")

	// PATCH merges and is checked like a PUT.
	patched, err := apps.Update(e.ctx, e.rg, "orders", armappservice.SitePatchResource{Properties: &armappservice.SitePatchResourceProperties{HTTPSOnly: to.Ptr(false)}}, nil)
	if err != nil || *patched.Properties.HTTPSOnly || *patched.Properties.FunctionAppConfig.ScaleAndConcurrency.InstanceMemoryMB != 4096 {
		t.Errorf("PATCH httpsOnly: %v", err)
	}
	_, err = apps.Update(e.ctx, e.rg, "orders", armappservice.SitePatchResource{Properties: &armappservice.SitePatchResourceProperties{ServerFarmID: to.Ptr(planID + "x")}}, nil)
	wantCode(t, "PATCH to a missing plan", err, http.StatusNotFound, "NotFound")

	// App settings.
	settings, err := apps.ListApplicationSettings(e.ctx, e.rg, "orders", nil)
	if err != nil || *settings.Properties["AzureWebJobsStorage__accountName"] != "tfdeploy01" {
		t.Errorf("app settings from siteConfig: %v, %v", settings.Properties, err)
	}
	_, err = apps.UpdateApplicationSettings(e.ctx, e.rg, "orders", armappservice.StringDictionary{Properties: map[string]*string{"THREEFACTOR_NAME": to.Ptr("orders")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	settings, _ = apps.ListApplicationSettings(e.ctx, e.rg, "orders", nil)
	if len(settings.Properties) != 1 || *settings.Properties["THREEFACTOR_NAME"] != "orders" {
		t.Errorf("app settings after PUT (a replacement): %v", settings.Properties)
	}
	_, err = apps.UpdateApplicationSettings(e.ctx, e.rg, "orders", armappservice.StringDictionary{Properties: map[string]*string{"WEBSITE_RUN_FROM_PACKAGE": to.Ptr("1")}}, nil)
	wantCode(t, "WEBSITE_RUN_FROM_PACKAGE", err, http.StatusBadRequest, "BadRequest")

	// Basic publishing credentials.
	for _, name := range []string{"ftp", "scm"} {
		var allowed bool
		if name == "ftp" {
			r, err := apps.GetFtpAllowed(e.ctx, e.rg, "orders", nil)
			allowed = err == nil && *r.Properties.Allow
			_, err = apps.UpdateFtpAllowed(e.ctx, e.rg, "orders", armappservice.CsmPublishingCredentialsPoliciesEntity{Properties: &armappservice.CsmPublishingCredentialsPoliciesEntityProperties{Allow: to.Ptr(false)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, _ = apps.GetFtpAllowed(e.ctx, e.rg, "orders", nil)
			allowed = allowed && !*r.Properties.Allow
		} else {
			r, err := apps.GetScmAllowed(e.ctx, e.rg, "orders", nil)
			allowed = err == nil && *r.Properties.Allow
			_, err = apps.UpdateScmAllowed(e.ctx, e.rg, "orders", armappservice.CsmPublishingCredentialsPoliciesEntity{Properties: &armappservice.CsmPublishingCredentialsPoliciesEntityProperties{Allow: to.Ptr(false)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, _ = apps.GetScmAllowed(e.ctx, e.rg, "orders", nil)
			allowed = allowed && !*r.Properties.Allow
		}
		if !allowed {
			t.Errorf("%s publishing: want allowed by default, then turned off", name)
		}
	}

	// The plan cannot go while the site is on it; the site's name is global.
	plans := must[*armappservice.PlansClient](t, "client")(armappservice.NewPlansClient(e.sub, e.cred, e.opts))
	_, err = plans.Delete(e.ctx, e.rg, "orders-plan", nil)
	wantCode(t, "deleting a plan in use", err, http.StatusConflict, "Conflict")
	p, err := plans.BeginCreateOrUpdate(e.ctx, e.rg, "y1", armappservice.Plan{Location: to.Ptr("westeurope"), SKU: &armappservice.SKUDescription{Name: to.Ptr("Y1")}, Properties: &armappservice.PlanProperties{Reserved: to.Ptr(true)}}, nil)
	_, err = poll(e.ctx, p, err)
	wantCode(t, "a Y1 plan", err, http.StatusBadRequest, "InvalidSku")

	if _, err := apps.Delete(e.ctx, e.rg, "orders", nil); err != nil {
		t.Fatal(err)
	}
	_, err = apps.Get(e.ctx, e.rg, "orders", nil)
	wantCode(t, "GET deleted site", err, http.StatusNotFound, "ResourceNotFound")
	if _, err := plans.Delete(e.ctx, e.rg, "orders-plan", nil); err != nil {
		t.Errorf("deleting the plan once empty: %v", err)
	}
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSCMPublish(t *testing.T) {
	e := newEnv(t, Options{})
	newStorage(t, e, "tfdeploy01", "deploy")
	mi := newIdentity(t, e, "orders-id")
	planID := newPlan(t, e, "orders-plan")
	apps := must[*armappservice.WebAppsClient](t, "client")(armappservice.NewWebAppsClient(e.sub, e.cred, e.opts))
	p, err := apps.BeginCreateOrUpdate(e.ctx, e.rg, "orders", site(planID, *mi.ID, "https://tfdeploy01.blob.core.windows.net/deploy", 2048, 10), nil)
	if _, err := poll(e.ctx, p, err); err != nil {
		t.Fatal(err)
	}
	tok, err := e.cred.GetToken(e.ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err != nil {
		t.Fatal(err)
	}
	pkg := zipOf(t, map[string]string{"host.json": `{"version":"2.0"}`, "index.js": "module.exports = {}"})
	publish := func(app, token, contentType string, body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, "https://"+app+".scm."+e.s.SCMSuffix()+"/api/publish?RemoteBuild=false", bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := e.s.HTTPClient().Do(req)
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		what        string
		app, token  string
		contentType string
		body        []byte
		want        int
	}{
		{"no token", "orders", "", "application/zip", pkg, http.StatusUnauthorized},
		{"a missing app", "nope", tok.Token, "application/zip", pkg, http.StatusNotFound},
		{"octet-stream", "orders", tok.Token, "application/octet-stream", pkg, http.StatusUnsupportedMediaType},
		{"not a zip", "orders", tok.Token, "application/zip", []byte("hello"), http.StatusBadRequest},
	} {
		if got := publish(tc.app, tc.token, tc.contentType, tc.body); got != tc.want {
			t.Errorf("publish with %s: %d, want %d", tc.what, got, tc.want)
		}
	}
	if _, ok := e.s.Deployed("orders"); ok {
		t.Error("a refused publish recorded a deployment")
	}
	e.s.AddFault(Fault{Op: "scm/publish", Status: http.StatusForbidden, Code: "Forbidden"})
	if got := publish("orders", tok.Token, "application/zip", pkg); got != http.StatusForbidden {
		t.Errorf("injected failure: %d", got)
	}
	if got := publish("orders", tok.Token, "application/zip", pkg); got != http.StatusOK {
		t.Errorf("publish: %d, want 200", got)
	}
	if got, ok := e.s.Deployed("orders"); !ok || !bytes.Equal(got, pkg) {
		t.Errorf("Deployed: %d bytes, %v; want the published zip", len(got), ok)
	}
	if n := e.s.Calls()["scm/publish"]; n != 6 {
		t.Errorf("scm/publish calls %d, want 6", n)
	}
}

// TestSystemAssignedIdentity: a site with a system-assigned identity deploys with it, reads back a
// stable principal, and that principal can be granted a role (as a ServicePrincipal while young).
// The clients use StaticCredential, which skips the token endpoint.
func TestSystemAssignedIdentity(t *testing.T) {
	e := newEnv(t, Options{})
	e.cred = e.s.StaticCredential()
	newStorage(t, e, "tfsystem01", "code")
	planID := newPlan(t, e, "orders-plan")
	apps := must[*armappservice.WebAppsClient](t, "client")(armappservice.NewWebAppsClient(e.sub, e.cred, e.opts))
	s := site(planID, "unused", "https://tfsystem01.blob.core.windows.net/code", 512, 1)
	s.Identity = &armappservice.ManagedServiceIdentity{Type: to.Ptr(armappservice.ManagedServiceIdentityTypeSystemAssigned)}
	s.Properties.FunctionAppConfig.Deployment.Storage.Authentication = &armappservice.FunctionsDeploymentStorageAuthentication{Type: to.Ptr(armappservice.AuthenticationTypeSystemAssignedIdentity)}
	p, err := apps.BeginCreateOrUpdate(e.ctx, e.rg, "orders", s, nil)
	created, err := poll(e.ctx, p, err)
	if err != nil {
		t.Fatal(err)
	}
	got, err := apps.Get(e.ctx, e.rg, "orders", nil)
	if err != nil || got.Identity == nil || !isGUID(*got.Identity.PrincipalID) || *got.Identity.PrincipalID != *created.Identity.PrincipalID {
		t.Fatalf("system-assigned principal: created %+v, read %+v, %v", created.Identity, got.Identity, err)
	}
	ras := must[*armauthorization.RoleAssignmentsClient](t, "client")(armauthorization.NewRoleAssignmentsClient(e.sub, e.cred, e.opts))
	_, err = ras.Create(e.ctx, "/subscriptions/"+e.sub+"/resourceGroups/"+e.rg, "3b7e3a4e-1d3f-4b7c-9b6a-9d1b2c3d4e10", armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr("/providers/Microsoft.Authorization/roleDefinitions/" + receiverRole), PrincipalID: got.Identity.PrincipalID,
		PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
	}}, nil)
	if err != nil {
		t.Errorf("granting the site's principal: %v", err)
	}
	if calls := e.s.Calls(); calls["token"] != 0 {
		t.Errorf("StaticCredential asked the token endpoint: %v", calls)
	}
}
