package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/threefactor/terraform-provider-threefactor/acctest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions/gcptest"
)

// gcpBackend runs the real provider, with its real Google driver, against the fakes and the Pub/Sub
// emulator through the provider's own endpoint settings.
func gcpBackend(t *testing.T) *backend {
	acctest.Setup(t)
	h, err := gcptest.New(context.Background(), t)
	if err != nil {
		t.Fatal(err)
	}
	var endpoints []string
	for k, v := range h.Endpoints() {
		endpoints = append(endpoints, fmt.Sprintf("%s = %q", k, v))
	}
	sort.Strings(endpoints)
	return &backend{
		Harness: h,
		factories: map[string]func() (tfprotov6.ProviderServer, error){
			"threefactor": providerserver.NewProtocol6WithError(New("test")()),
		},
		provider: fmt.Sprintf(`provider "threefactor" {
  gcp = {
    project     = %q
    region      = %q
    max_retries = 2
    endpoints   = { %s }
  }
}
`, h.Project, gcptest.Region, strings.Join(endpoints, ", ")),
	}
}

func TestAccEventHandlerGCP_basic(t *testing.T)         { testBasic(t, gcpBackend(t)) }
func TestAccEventHandlerGCP_update(t *testing.T)        { testUpdate(t, gcpBackend(t)) }
func TestAccEventHandlerGCP_triggerSwap(t *testing.T)   { testTriggerSwap(t, gcpBackend(t)) }
func TestAccEventHandlerGCP_replace(t *testing.T)       { testReplace(t, gcpBackend(t)) }
func TestAccEventHandlerGCP_disappears(t *testing.T)    { testDisappears(t, gcpBackend(t)) }
func TestAccEventHandlerGCP_failedCreate(t *testing.T)  { testFailedCreate(t, gcpBackend(t)) }
func TestAccEventHandlerGCP_importKilled(t *testing.T)  { testImportKilled(t, gcpBackend(t)) }
func TestAccEventHandlerGCP_unknownAtPlan(t *testing.T) { testUnknownAtPlan(t, gcpBackend(t)) }
