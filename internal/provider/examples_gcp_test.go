package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions/gcptest"
)

func gcpVariables(h *gcptest.Harness) config.Variables {
	endpoints := map[string]config.Variable{}
	for k, v := range h.Endpoints() {
		endpoints[k] = config.StringVariable(v)
	}
	return config.Variables{"project": config.StringVariable(h.Project), "region": config.StringVariable(gcptest.Region),
		"endpoints": config.MapVariable(endpoints)}
}

// TestAccExamplesGCP_quickstart applies examples/gcp unchanged against the fakes and the Pub/Sub
// emulator, imports a handler back and destroys everything.
func TestAccExamplesGCP_quickstart(t *testing.T) {
	b := gcpBackend(t)
	h := b.Harness.(*gcptest.Harness)
	vars := gcpVariables(h)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{
				Config:          exampleMain(t, "../../examples/gcp"),
				ConfigVariables: vars,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("threefactor_eventhandler.order_placed", at("publish_target"),
						knownvalue.StringExact("projects/"+h.Project+"/topics/order-placed--queue")),
					statecheck.ExpectKnownValue("threefactor_eventhandler.payment_settled", at("publish_target"),
						knownvalue.StringExact("projects/"+h.Project+"/topics/payment-settled--topic")),
					statecheck.ExpectKnownValue("threefactor_eventhandler.order_placed", at("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"project": knownvalue.StringExact("quickstart"), "team": knownvalue.StringExact("orders"),
					})),
					statecheck.ExpectKnownValue("threefactor_eventhandler.order_placed", at("function", "architecture"), knownvalue.Null()),
				},
			},
			{
				// Outputs of handlers an import leaves out read as null, which plugin-testing cannot take.
				Config:                  withoutOutputs(exampleMain(t, "../../examples/gcp")),
				ConfigVariables:         vars,
				ResourceName:            "threefactor_eventhandler.order_placed",
				ImportState:             true,
				ImportStateId:           "gcp/" + h.Project + "/" + gcptest.Region + "/order-placed",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"function.source_dir", "function.environment", "function.secret_environment"},
			},
		},
	})
}

// TestAccExamplesGCP_portable plans the AWS quickstart's resource blocks with only `cloud` changed:
// Google refuses exactly the one setting it cannot take, with its reason.
func TestAccExamplesGCP_portable(t *testing.T) {
	b := gcpBackend(t)
	blocks := quickstartOn(t, "gcp")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		Steps: []resource.TestStep{{
			Config:      b.provider + blocks,
			PlanOnly:    true,
			ExpectError: regexpSpaced(regexp.QuoteMeta(`retry.max_attempts must be between 5 and 100 on gcp (Pub/Sub's max_delivery_attempts), got 3.`)),
		}},
	})
}
