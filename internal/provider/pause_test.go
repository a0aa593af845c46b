package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// pauser is a harness that can pause a handler's delivery behind the provider's back.
type pauser interface {
	Pause(ctx context.Context, st driver.State) error
}

func TestAccEventHandlerMem_pause(t *testing.T) { testPause(t, memBackend(t)) }
func TestAccEventHandlerAWS_pause(t *testing.T) { testPause(t, awsBackend(t)) }
func TestAccEventHandlerGCP_pause(t *testing.T) { testPause(t, gcpBackend(t)) }

// testPause pauses and resumes delivery in place, and a pause made outside Terraform shows as drift
// that the next apply undoes. What the cloud holds is read back through the driver each time.
func testPause(t *testing.T, b *backend) {
	src := sourceDir(t)
	var st driver.State
	paused := func(want bool) func(*terraformState) error {
		return func(s *terraformState) error {
			cur, err := b.stateOf(s)
			if err != nil {
				return err
			}
			obs, err := b.Driver().Read(context.Background(), cur)
			if err != nil {
				return err
			}
			if obs.Handler.Trigger.Paused != want {
				return fmt.Errorf("the cloud's trigger paused = %v, want %v", obs.Handler.Trigger.Paused, want)
			}
			return b.sameComponents(s, st)
		}
	}
	update := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(resourceAddr, plancheck.ResourceActionUpdate)}}
	enabled := func(v bool) []statecheck.StateCheck {
		return []statecheck.StateCheck{statecheck.ExpectKnownValue(resourceAddr, at("trigger", "enabled"), knownvalue.Bool(v))}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: b.config("pause", src, "", ""), Check: b.capture(&st), ConfigStateChecks: enabled(true)},
			{Config: b.config("pause", src, `trigger = { enabled = false }`, ""), ConfigPlanChecks: update, ConfigStateChecks: enabled(false), Check: paused(true)},
			{Config: b.config("pause", src, "", ""), ConfigPlanChecks: update, ConfigStateChecks: enabled(true), Check: paused(false)},
			{
				PreConfig: func() {
					if err := b.Harness.(pauser).Pause(context.Background(), st); err != nil {
						t.Fatal(err)
					}
				},
				Config: b.config("pause", src, "", ""), ConfigPlanChecks: update, ConfigStateChecks: enabled(true), Check: paused(false),
			},
		},
	})
}
