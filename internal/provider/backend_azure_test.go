package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/threefactor/terraform-provider-threefactor/acctest"
	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions/azuretest"
)

// azureBackend runs the real provider, with its real Azure driver, against the fake Resource
// Manager through the provider block and the SDK's conventions: the test CA through
// SSL_CERT_FILE, the token authority through AZURE_AUTHORITY_HOST, and the function apps' SCM
// hosts reached through the fake as HTTPS_PROXY.
func azureBackend(t *testing.T) *backend {
	acctest.Setup(t)
	s := azurefake.Require(t, azurefake.Options{RetryAfter: 5 * time.Millisecond})
	t.Setenv("SSL_CERT_FILE", s.CAFile())
	t.Setenv("AZURE_AUTHORITY_HOST", s.URL())
	t.Setenv("HTTPS_PROXY", s.URL())
	t.Setenv("NO_PROXY", "127.0.0.1,localhost")
	d, err := azurefunctionsNew(s)
	if err != nil {
		t.Fatal(err)
	}
	h := &azuretest.Harness{Fake: s, D: d}
	return &backend{
		Harness: h,
		factories: map[string]func() (tfprotov6.ProviderServer, error){
			"threefactor": providerserver.NewProtocol6WithError(New("test")()),
		},
		provider: fmt.Sprintf(`provider "threefactor" {
  azure = {
    subscription_id = %q
    resource_group  = %q
    location        = %q
    endpoint        = %q
    tenant_id       = %q
    client_id       = %q
    client_secret   = %q
    scm_suffix      = %q
    max_retries     = 2
  }
}
`, s.Subscription(), s.ResourceGroup(), azurefake.DefaultLocation, s.URL(), s.Tenant(), azurefake.DefaultClientID, azurefake.DefaultClientSecret, s.SCMSuffix()),
	}
}

func azurefunctionsNew(s *azurefake.Server) (*azurefunctions.Driver, error) {
	return azurefunctions.New(context.Background(), azuretest.Config(s))
}

func TestAccEventHandlerAzure_basic(t *testing.T)         { testBasic(t, azureBackend(t)) }
func TestAccEventHandlerAzure_update(t *testing.T)        { testUpdate(t, azureBackend(t)) }
func TestAccEventHandlerAzure_triggerSwap(t *testing.T)   { testTriggerSwap(t, azureBackend(t)) }
func TestAccEventHandlerAzure_replace(t *testing.T)       { testReplace(t, azureBackend(t)) }
func TestAccEventHandlerAzure_disappears(t *testing.T)    { testDisappears(t, azureBackend(t)) }
func TestAccEventHandlerAzure_failedCreate(t *testing.T)  { testFailedCreate(t, azureBackend(t)) }
func TestAccEventHandlerAzure_importKilled(t *testing.T)  { testImportKilled(t, azureBackend(t)) }
func TestAccEventHandlerAzure_unknownAtPlan(t *testing.T) { testUnknownAtPlan(t, azureBackend(t)) }
func TestAccEventHandlerAzure_pause(t *testing.T)         { testPause(t, azureBackend(t)) }
