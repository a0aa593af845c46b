package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions/azuretest"
)

// TestAccExamplesAzure_quickstart applies examples/azure unchanged against the fakes, imports a
// handler back and destroys everything.
func TestAccExamplesAzure_quickstart(t *testing.T) {
	b := azureBackend(t)
	s := b.Harness.(*azuretest.Harness).Fake
	vars := config.Variables{
		"subscription_id": config.StringVariable(s.Subscription()), "resource_group": config.StringVariable(s.ResourceGroup()),
		"location": config.StringVariable(azurefake.DefaultLocation), "endpoint": config.StringVariable(s.URL()),
		"tenant_id": config.StringVariable(s.Tenant()), "client_id": config.StringVariable(azurefake.DefaultClientID),
		"client_secret": config.StringVariable(azurefake.DefaultClientSecret), "scm_suffix": config.StringVariable(s.SCMSuffix()),
	}
	d := b.Driver().(interface{ ResourceGroup() string })
	rg := "/subscriptions/" + s.Subscription() + "/resourceGroups/" + d.ResourceGroup() + "/providers/Microsoft.ServiceBus/namespaces/"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{
				Config:          exampleMain(t, "../../examples/azure"),
				ConfigVariables: vars,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("threefactor_eventhandler.order_placed", at("publish_target"),
						knownvalue.StringRegexp(regexpSpaced("^"+rg+`order-placed-[a-z0-9]{8}/queues/order-placed--queue$`))),
					statecheck.ExpectKnownValue("threefactor_eventhandler.payment_settled", at("publish_target"),
						knownvalue.StringRegexp(regexpSpaced("^"+rg+`payment-settled-[a-z0-9]{8}/topics/payment-settled--topic$`))),
					statecheck.ExpectKnownValue("threefactor_eventhandler.order_placed", at("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"project": knownvalue.StringExact("quickstart"), "team": knownvalue.StringExact("orders"),
					})),
					statecheck.ExpectKnownValue("threefactor_eventhandler.payment_settled", at("retry", "max_attempts"), knownvalue.Int64Exact(3)),
				},
			},
			{
				Config:                  withoutOutputs(exampleMain(t, "../../examples/azure")),
				ConfigVariables:         vars,
				ResourceName:            "threefactor_eventhandler.order_placed",
				ImportState:             true,
				ImportStateId:           "azure/" + s.Subscription() + "/" + s.ResourceGroup() + "/order-placed",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"function.source_dir", "function.environment", "function.secret_environment"},
			},
		},
	})
}

// TestAccExamplesAzure_portable plans the AWS quickstart's resource blocks with only `cloud`
// changed: Azure takes every setting they use.
func TestAccExamplesAzure_portable(t *testing.T) {
	b := azureBackend(t)
	blocks := quickstartOn(t, "azure")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		Steps: []resource.TestStep{{
			Config:             b.provider + blocks,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}},
	})
}
