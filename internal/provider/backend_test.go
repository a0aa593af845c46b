package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/threefactor/terraform-provider-threefactor/acctest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/memdriver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// backend is a cloud the acceptance tests run against: its harness (to break and inspect it behind
// the provider's back), the provider servers to hand tofu, and the provider block that reaches it.
type backend struct {
	drivertest.Harness
	factories map[string]func() (tfprotov6.ProviderServer, error)
	provider  string
}

const resourceAddr = "threefactor_eventhandler.test"

// memBackend runs the provider's glue on the in-memory driver, registered as the test-only cloud
// "mem" beside the clouds the provider ships.
func memBackend(t *testing.T) *backend {
	acctest.Setup(t)
	h := memdriver.NewHarness()
	return &backend{
		Harness: h,
		factories: map[string]func() (tfprotov6.ProviderServer, error){
			"threefactor": providerserver.NewProtocol6WithError(NewWithClouds("test", append(Clouds(), h.Cloud())...)()),
		},
		provider: fmt.Sprintf(`provider "threefactor" {
  mem = { scope = %q }
}
`, memdriver.Scope),
	}
}

// importID is the id the backend's handler named name imports under.
func (b *backend) importID(name string) string { return b.Driver().ImportID(name) }

// components is how many components a handler of kind (with no existing source) has on the backend's cloud.
func (b *backend) components(kind spec.TriggerKind) int {
	return len(b.Cloud().Needs(&spec.Handler{Trigger: spec.Trigger{Kind: kind}}))
}

// sourceDir writes a small Node.js handler and returns its directory.
func sourceDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("exports.handler = async () => ({})\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// config is the test handler with extra attributes spliced in at the top level and in function.
func (b *backend) config(name, src, top, function string) string {
	return b.provider + fmt.Sprintf(`
resource "threefactor_eventhandler" "test" {
  name  = %[1]q
  cloud = %[5]q
  function = {
    runtime    = "nodejs22"
    source_dir = %[2]q
    %[4]s
  }
  %[3]s
}
`, name, src, top, function, b.Cloud().Name)
}

// stateOf reads the driver state back from the components attribute in tofu's state.
func (b *backend) stateOf(s *terraform.State) (driver.State, error) {
	rs, ok := s.RootModule().Resources[resourceAddr]
	if !ok {
		return nil, fmt.Errorf("%s not in state", resourceAddr)
	}
	st := driver.State{}
	for _, c := range b.Cloud().Order() {
		if v := rs.Primary.Attributes["components."+string(c)]; v != "" {
			st[string(c)] = v
		}
	}
	return st, nil
}

// checkNoLeftovers fails when the cloud still holds anything: the CheckDestroy of every test.
func (b *backend) checkNoLeftovers(*terraform.State) error {
	left, err := b.Leftovers(context.Background())
	if err != nil {
		return err
	}
	if len(left) != 0 {
		return fmt.Errorf("resources left in the cloud: %v", left)
	}
	return nil
}

// capture returns a check that records the handler's driver state into st, for a later step's PreConfig.
func (b *backend) capture(st *driver.State) func(*terraform.State) error {
	return func(s *terraform.State) error {
		got, err := b.stateOf(s)
		*st = got
		return err
	}
}

type terraformState = terraform.State

// sameComponents checks that an update kept every component of before.
func (b *backend) sameComponents(s *terraform.State, before driver.State) error {
	return b.sameComponentsOf(s, before, b.Cloud().Order()...)
}

func (b *backend) sameComponentsOf(s *terraform.State, before driver.State, cs ...driver.Component) error {
	now, err := b.stateOf(s)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if now.Get(c) != before.Get(c) {
			return fmt.Errorf("%s was replaced: %q, was %q", c, now.Get(c), before.Get(c))
		}
	}
	return nil
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
