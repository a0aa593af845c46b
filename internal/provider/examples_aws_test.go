package provider

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda/awstest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// The registry docs are generated from examples/provider and examples/resources; these tests apply
// those files unchanged against moto, reached through AWS_ENDPOINT_URL as a user of LocalStack would.

const exampleDir = "../../examples/resources/threefactor_eventhandler"

// exampleConfig is the provider example followed by the named example of threefactor_eventhandler.
func exampleConfig(t *testing.T, file string) string { return exampleConfigIn(t, exampleDir, file) }

// exampleConfigIn is the provider example followed by the named resource example in dir. The
// examples say `${path.module}/src`, which plugin-testing's scratch directory lacks: it becomes the
// absolute path.
func exampleConfigIn(t *testing.T, exampleDir, file string) string {
	t.Helper()
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	src, err := filepath.Abs(filepath.Join(exampleDir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	res := read(filepath.Join(exampleDir, file))
	if !strings.Contains(res, "${path.module}/src") {
		t.Fatalf("%s no longer uses ${path.module}/src; update this test", file)
	}
	return read("../../examples/provider/provider.tf") + "\n" + strings.ReplaceAll(res, "${path.module}/src", src)
}

// exampleImportID is the id in the documented import command of threefactor_eventhandler.
func exampleImportID(t *testing.T) (addr, id string) { return exampleImportIDIn(t, exampleDir) }

func exampleImportIDIn(t *testing.T, exampleDir string) (addr, id string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(exampleDir, "import.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^terraform import (\S+) (\S+)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("import.sh has no `terraform import ADDRESS ID` line")
	}
	return m[1], m[2]
}

func examplesBackend(t *testing.T) *backend {
	b := awsBackend(t)
	t.Setenv("AWS_ENDPOINT_URL", b.Harness.(*awstest.Harness).S.URL)
	return b
}

func TestAccExamplesAWS_resource(t *testing.T) {
	b := examplesBackend(t)
	addr, id := exampleImportID(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{
				Config: exampleConfig(t, "resource.tf"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, at("id"), knownvalue.StringExact(id)),
					statecheck.ExpectKnownValue(addr, at("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"owner": knownvalue.StringExact("platform"), "team": knownvalue.StringExact("orders"),
					})),
					statecheck.ExpectKnownValue("threefactor_eventhandler.payment_settled", at("trigger", "kind"), knownvalue.StringExact("topic")),
				},
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           id,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"function.source_dir", "function.environment", "function.secret_environment"},
			},
		},
	})
}

func TestAccExamplesAWS_existingSource(t *testing.T) {
	b := examplesBackend(t)
	arn, err := b.ExistingSource(context.Background(), spec.Queue)
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config:          exampleConfig(t, "existing-source.tf"),
			ConfigVariables: config.Variables{"orders_queue_arn": config.StringVariable(arn)},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("threefactor_eventhandler.order_audit", at("trigger_source_id"), knownvalue.StringExact(arn)),
			},
		}},
	})
}

// TestAccExamplesAWS_parts applies the topic and table examples, each imported as documented.
func TestAccExamplesAWS_parts(t *testing.T) {
	for _, dir := range []string{"../../examples/resources/threefactor_topic", "../../examples/resources/threefactor_table"} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b := examplesBackend(t)
			addr, id := exampleImportIDIn(t, dir)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: b.factories,
				CheckDestroy:             b.checkNoLeftovers,
				Steps: []resource.TestStep{
					{Config: exampleConfigIn(t, dir, "resource.tf"), ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(addr, at("id"), knownvalue.StringExact(id)),
					}},
					{ResourceName: addr, ImportState: true, ImportStateId: id, ImportStateVerify: true},
				},
			})
		})
	}
}

// TestAccExamplesAWS_quickstart applies examples/quickstart unchanged against moto, as `make demo`
// does, and destroys it leaving nothing.
func TestAccExamplesAWS_quickstart(t *testing.T) {
	b := awsBackend(t)
	url := b.Harness.(*awstest.Harness).S.URL
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config:          exampleMain(t, "../../examples/quickstart"),
			ConfigVariables: config.Variables{"endpoint": config.StringVariable(url)},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("order_placed_queue_url", knownvalue.StringExact(url+"/"+moto.Account+"/order-placed--queue")),
				statecheck.ExpectKnownOutputValue("payment_settled_topic_arn",
					knownvalue.StringExact("arn:aws:sns:"+awstest.Region+":"+moto.Account+":payment-settled--topic")),
				statecheck.ExpectKnownOutputValue("order_placed_role_arn", knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:iam::`+moto.Account+`:role/`))),
				statecheck.ExpectKnownOutputValue("dead_letter_queues", knownvalue.MapExact(map[string]knownvalue.Check{
					"order_placed":    knownvalue.StringRegexp(regexp.MustCompile(`order-placed--dlq$`)),
					"payment_settled": knownvalue.StringRegexp(regexp.MustCompile(`payment-settled--dlq$`)),
				})),
				statecheck.ExpectKnownValue("threefactor_eventhandler.payment_settled", at("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
					"project": knownvalue.StringExact("quickstart"), "team": knownvalue.StringExact("payments"),
				})),
			},
		}},
	})
}
