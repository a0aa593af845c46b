package azurefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func TestCredentialAgainstTheFakeAuthority(t *testing.T) {
	e := newEnv(t, Options{ClientID: "11111111-2222-3333-4444-555555555555", ClientSecret: "s3cret"})
	tok, err := e.cred.GetToken(e.ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if !e.s.validToken(tok.Token) {
		t.Errorf("token %q not accepted by the fake", tok.Token)
	}
	calls := e.s.Calls()
	if calls["token"] != 1 || calls["openid-configuration"] != 1 || calls["instance-discovery"] != 0 {
		t.Errorf("calls %v: want one token request, one OpenID configuration read, no instance discovery", calls)
	}

	bad, err := azidentity.NewClientSecretCredential(e.s.Tenant(), "11111111-2222-3333-4444-555555555555", "wrong",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: e.s.Cloud(), Transport: e.s.HTTPClient()}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetToken(e.ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}}); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("a wrong secret: %v, want invalid_client", err)
	}

	// No token, or a forged one: 401.
	for _, h := range []string{"", "Bearer azurefake.e30.forged"} {
		req, _ := http.NewRequest(http.MethodGet, e.s.URL()+"/subscriptions/"+e.sub+"/resourceGroups/"+e.rg+"?api-version=2021-04-01", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := e.s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", h, resp.StatusCode)
		}
	}

	// Instance discovery is served for clients that ask the fake.
	resp, err := e.s.HTTPClient().Get(e.s.URL() + "/common/discovery/instance?api-version=1.1&authorization_endpoint=" + url.QueryEscape(e.s.URL()+"/x/oauth2/v2.0/authorize"))
	if err != nil {
		t.Fatal(err)
	}
	var disc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&disc)
	_ = resp.Body.Close()
	if !strings.HasSuffix(str(disc, "tenant_discovery_endpoint"), "/v2.0/.well-known/openid-configuration") {
		t.Errorf("instance discovery: %v", disc)
	}

	// The CA file verifies the server.
	pem, err := os.ReadFile(e.s.CAFile())
	if err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Errorf("CA file %s: %v", e.s.CAFile(), err)
	}
}

func TestResourceGroupsAndProviders(t *testing.T) {
	e := newEnv(t, Options{UnregisteredProviders: []string{"Microsoft.ServiceBus"}})
	resp := e.raw(t, http.MethodGet, "/subscriptions/"+e.sub+"/resourcegroups/"+e.rg+"?api-version=2021-04-01")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET resource group: %d", resp.StatusCode)
	}
	resp = e.raw(t, http.MethodGet, "/subscriptions/"+e.sub+"/resourcegroups/nope?api-version=2021-04-01")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET missing resource group: %d", resp.StatusCode)
	}
	resp = e.raw(t, http.MethodGet, "/subscriptions/"+e.sub+"/providers/Microsoft.ServiceBus?api-version=2021-04-01")
	var p map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&p)
	if p["registrationState"] != "NotRegistered" {
		t.Errorf("provider before registration: %v", p)
	}
	resp = e.raw(t, http.MethodPost, "/subscriptions/"+e.sub+"/providers/Microsoft.ServiceBus/register?api-version=2021-04-01")
	_ = json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode != http.StatusOK || p["registrationState"] != "Registered" {
		t.Errorf("register: %d %v", resp.StatusCode, p)
	}
}

// TestSSLCertFile: another process that trusts only the system roots and SSL_CERT_FILE=CAFile()
// reaches the fake.
func TestSSLCertFile(t *testing.T) {
	s := Require(t, Options{})
	u := s.URL() + "/subscriptions/" + s.Subscription() + "/resourcegroups/" + s.ResourceGroup() + "?api-version=2021-04-01"
	run := func(caFile string) error {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "AZUREFAKE_CHILD_URL="+u, "AZUREFAKE_CHILD_TOKEN="+s.Token(), "SSL_CERT_FILE="+caFile, "SSL_CERT_DIR=/nonexistent")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	if err := run(s.CAFile()); err != nil {
		t.Errorf("with SSL_CERT_FILE: %v", err)
	}
	if err := run("/nonexistent.pem"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v, want a certificate error", err)
	}
}
