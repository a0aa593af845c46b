package provider

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/threefactor/terraform-provider-threefactor/acctest"
	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions/azuretest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// azureBackend runs the real provider, with its real Azure driver, against the fake Resource
// Manager through the provider block and the SDK's conventions: the test CA through
// SSL_CERT_FILE, the token authority through AZURE_AUTHORITY_HOST, and the function apps' SCM
// hosts reached through the fake as HTTPS_PROXY.
func azureBackend(t *testing.T) *backend { return azureBackendWith(t, azurefake.Options{}) }

// azureBackendWith is azureBackend on a fake started with opts.
func azureBackendWith(t *testing.T, opts azurefake.Options) *backend {
	acctest.Setup(t)
	opts.RetryAfter = 5 * time.Millisecond
	s := azurefake.Require(t, opts)
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

// TestAccEventHandlerAzure_importAdoptedOtherResourceGroup: a handler adopting a queue of another
// resource group (so another namespace, where its dead-letter queue lives), forgotten by tofu and
// imported back, plans no change but the code's source_dir (which no cloud knows); its destroy
// gives the queue back the settings it had before.
func TestAccEventHandlerAzure_importAdoptedOtherResourceGroup(t *testing.T) {
	const group = "shared-bus"
	b := azureBackendWith(t, azurefake.Options{ResourceGroups: []string{azurefake.DefaultResourceGroup, group}})
	h := b.Harness.(*azuretest.Harness)
	source, err := h.ExistingSourceIn(context.Background(), spec.Queue, group)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := h.Fake.Resource(source)
	namespace := source[:strings.Index(source, "/queues/")]
	// An import that persists its state runs without a new init: the configuration names its provider.
	const providers = `terraform {
  required_providers {
    threefactor = { source = "threefactor/threefactor" }
  }
}
`
	cfg := providers + b.config("adopter", sourceDir(t), fmt.Sprintf(`trigger = { source = %q }
  retry   = { max_attempts = 4 }`, source), "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy: func(s *terraform.State) error {
			if err := b.checkNoLeftovers(s); err != nil {
				return err
			}
			after, _ := h.Fake.Resource(source)
			for _, k := range []string{"lockDuration", "maxDeliveryCount", "forwardDeadLetteredMessagesTo", "status"} {
				if was, is := obj(before, "properties")[k], obj(after, "properties")[k]; fmt.Sprint(was) != fmt.Sprint(is) && !sameDuration(was, is) {
					return fmt.Errorf("the adopted queue's %s after destroy is %v, want %v as before adoption", k, is, was)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(resourceAddr, at("components", "queue"), knownvalue.StringExact(source)),
					statecheck.ExpectKnownValue(resourceAddr, at("dead_letter_id"), knownvalue.StringExact(namespace+"/queues/adopter--dlq")),
				},
			},
			{
				// Forgotten, not destroyed: as a handler made by another configuration.
				Config: providers + b.provider + "removed {\n  from = threefactor_eventhandler.test\n}\n",
			},
			{
				Config:             cfg,
				ResourceName:       resourceAddr,
				ImportState:        true,
				ImportStateId:      b.importID("adopter"),
				ImportStatePersist: true,
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{onlyChanges{resourceAddr, []string{"function.source_dir"}}},
				},
			},
		},
	})
}

// onlyChanges passes when the plan changes nothing of resource addr but the attributes at paths.
type onlyChanges struct {
	addr  string
	paths []string
}

func (c onlyChanges) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.addr {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		after, _ := rc.Change.After.(map[string]any)
		if got := changedPaths("", before, after); !slices.Equal(got, c.paths) {
			resp.Error = fmt.Errorf("%s: the plan changes %v, want only %v", c.addr, got, c.paths)
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", c.addr)
}

// changedPaths lists, sorted, the dotted paths where two decoded JSON objects differ (an unknown
// value is absent from a plan's after, so it shows as a change).
func changedPaths(prefix string, a, b map[string]any) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		am, aok := a[k].(map[string]any)
		bm, bok := b[k].(map[string]any)
		switch {
		case aok && bok:
			out = append(out, changedPaths(prefix+k+".", am, bm)...)
		case !reflect.DeepEqual(a[k], b[k]):
			out = append(out, prefix+k)
		}
	}
	slices.Sort(out)
	return out
}

// sameDuration reports two ISO 8601 durations of the same length ("PT1M", "PT60S").
func sameDuration(a, b any) bool {
	as, _ := a.(string)
	bs, _ := b.(string)
	ad, aerr := time.ParseDuration(strings.ToLower(strings.TrimPrefix(as, "PT")))
	bd, berr := time.ParseDuration(strings.ToLower(strings.TrimPrefix(bs, "PT")))
	return aerr == nil && berr == nil && ad == bd
}

func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}
