package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Each test body runs on every backend: the in-memory test cloud "mem" (the provider's glue alone, on
// a cloud unlike AWS in its components, defaults, limits and import id) and, in the AWS tests, the
// real driver against moto.

func TestAccEventHandlerMem_basic(t *testing.T)         { testBasic(t, memBackend(t)) }
func TestAccEventHandlerMem_update(t *testing.T)        { testUpdate(t, memBackend(t)) }
func TestAccEventHandlerMem_triggerSwap(t *testing.T)   { testTriggerSwap(t, memBackend(t)) }
func TestAccEventHandlerMem_replace(t *testing.T)       { testReplace(t, memBackend(t)) }
func TestAccEventHandlerMem_disappears(t *testing.T)    { testDisappears(t, memBackend(t)) }
func TestAccEventHandlerMem_failedCreate(t *testing.T)  { testFailedCreate(t, memBackend(t)) }
func TestAccEventHandlerMem_importKilled(t *testing.T)  { testImportKilled(t, memBackend(t)) }
func TestAccEventHandlerMem_unknownAtPlan(t *testing.T) { testUnknownAtPlan(t, memBackend(t)) }

func at(names ...string) tfjsonpath.Path {
	p := tfjsonpath.New(names[0])
	for _, n := range names[1:] {
		p = p.AtMapKey(n)
	}
	return p
}

// int64OrNull checks a setting the cloud may lack: null there, want elsewhere.
func int64OrNull(r *spec.Rules, path string, want int64) knownvalue.Check {
	if !r.Supports(path) {
		return knownvalue.Null()
	}
	return knownvalue.Int64Exact(want)
}

func testBasic(t *testing.T, b *backend) {
	src := sourceDir(t)
	r := b.Cloud().Rules
	d := r.Defaults
	var arch knownvalue.Check = knownvalue.Null()
	if r.Supports("function.architecture") {
		arch = knownvalue.StringExact(d.Architecture)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{
				Config: b.config("basic", src, `tags = { team = "orders" }`, `secret_environment = { API_KEY = "s3cret" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(resourceAddr, at("id"), knownvalue.StringExact(b.importID("basic"))),
					statecheck.ExpectKnownValue(resourceAddr, at("function", "entry_point"), knownvalue.StringExact(r.Runtimes["nodejs22"].EntryPoint)),
					statecheck.ExpectKnownValue(resourceAddr, at("function", "memory_mb"), knownvalue.Int64Exact(d.MemoryMB)),
					statecheck.ExpectKnownValue(resourceAddr, at("function", "timeout_s"), knownvalue.Int64Exact(d.TimeoutS)),
					statecheck.ExpectKnownValue(resourceAddr, at("function", "architecture"), arch),
					statecheck.ExpectKnownValue(resourceAddr, at("function", "log_retention_days"), int64OrNull(r, "function.log_retention_days", d.LogRetentionDays)),
					statecheck.ExpectKnownValue(resourceAddr, at("trigger", "kind"), knownvalue.StringExact("queue")),
					statecheck.ExpectKnownValue(resourceAddr, at("trigger", "batch_size"), knownvalue.Int64Exact(d.BatchSize)),
					statecheck.ExpectKnownValue(resourceAddr, at("trigger", "batch_window_s"), int64OrNull(r, "trigger.batch_window_s", d.BatchWindowS)),
					statecheck.ExpectKnownValue(resourceAddr, at("trigger", "visibility_timeout_s"), knownvalue.Int64Exact(r.VisibilityDefault(d.TimeoutS, d.BatchWindowS))),
					statecheck.ExpectKnownValue(resourceAddr, at("retry", "max_attempts"), knownvalue.Int64Exact(d.MaxAttempts)),
					statecheck.ExpectKnownValue(resourceAddr, at("dead_letter", "retention_days"), knownvalue.Int64Exact(d.RetentionDays)),
					statecheck.ExpectKnownValue(resourceAddr, at("dedup", "ttl_s"), knownvalue.Int64Exact(d.DedupTTLS)),
					statecheck.ExpectKnownValue(resourceAddr, at("timeouts", "create"), knownvalue.StringExact(b.Cloud().Timeouts.Create.String())),
					statecheck.ExpectKnownValue(resourceAddr, at("source_hash"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
					statecheck.ExpectKnownValue(resourceAddr, at("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{"team": knownvalue.StringExact("orders")})),
					statecheck.ExpectKnownValue(resourceAddr, at("components"), knownvalue.MapSizeExact(b.components(spec.Queue))),
					statecheck.ExpectKnownValue(resourceAddr, at("function_id"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(resourceAddr, at("publish_target"), knownvalue.NotNull()),
					statecheck.ExpectSensitiveValue(resourceAddr, at("function", "secret_environment")),
				},
			},
			{
				ResourceName:      resourceAddr,
				ImportState:       true,
				ImportStateId:     b.importID("basic"),
				ImportStateVerify: true,
				// No cloud knows where the code came from or which variables were secret (they import
				// into function.environment).
				ImportStateVerifyIgnore: []string{"function.source_dir", "function.environment", "function.secret_environment"},
			},
		},
	})
}

// changedConfig renders the settings of drivertest.Changed (every setting the cloud has, at another
// valid value) as the top-level and function attributes of the test configuration.
func changedConfig(c *driver.Cloud) (w *spec.Handler, top, function string) {
	w = drivertest.Changed(drivertest.Handler("update", c), c)
	r := c.Rules
	trigger := fmt.Sprintf("batch_size = %d, visibility_timeout_s = %d", w.Trigger.BatchSize, w.Trigger.VisibilityTimeoutS)
	if r.Supports("trigger.batch_window_s") {
		trigger += fmt.Sprintf(", batch_window_s = %d", w.Trigger.BatchWindowS)
	}
	retry := fmt.Sprintf("max_attempts = %d", w.Retry.MaxAttempts)
	if r.Supports("retry.min_backoff_s") {
		retry += fmt.Sprintf(", min_backoff_s = %d", w.Retry.MinBackoffS)
	}
	top = fmt.Sprintf(`
  trigger     = { %s }
  retry       = { %s }
  dead_letter = { retention_days = %d }
  dedup       = { ttl_s = %d }
  tags        = { tier = "1" }`, trigger, retry, w.DeadLetter.RetentionDays, w.Dedup.TTLS)
	function = fmt.Sprintf(`memory_mb = %d
    timeout_s = %d
    environment = { MODE = "fast" }
    max_concurrency = %d`, w.Function.MemoryMB, w.Function.TimeoutS, w.Function.MaxConcurrency)
	if r.Supports("function.architecture") {
		function += fmt.Sprintf("\n    architecture = %q", w.Function.Architecture)
	}
	if r.Supports("function.log_retention_days") {
		function += fmt.Sprintf("\n    log_retention_days = %d", w.Function.LogRetentionDays)
	}
	return w, top, function
}

func testUpdate(t *testing.T, b *backend) {
	src := sourceDir(t)
	var before driver.State
	w, top, function := changedConfig(b.Cloud())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{
				Config: b.config("update", src, "", ""),
				Check:  b.capture(&before),
			},
			{
				Config: b.config("update", src, top, function),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(resourceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(resourceAddr, at("function", "memory_mb"), knownvalue.Int64Exact(w.Function.MemoryMB)),
					statecheck.ExpectKnownValue(resourceAddr, at("function", "log_retention_days"), int64OrNull(b.Cloud().Rules, "function.log_retention_days", w.Function.LogRetentionDays)),
					statecheck.ExpectKnownValue(resourceAddr, at("trigger", "visibility_timeout_s"), knownvalue.Int64Exact(w.Trigger.VisibilityTimeoutS)),
					statecheck.ExpectKnownValue(resourceAddr, at("function", "max_concurrency"), knownvalue.Int64Exact(w.Function.MaxConcurrency)),
					statecheck.ExpectKnownValue(resourceAddr, at("retry", "max_attempts"), knownvalue.Int64Exact(w.Retry.MaxAttempts)),
				},
				Check: func(s *terraformState) error { return b.sameComponents(s, before) },
			},
			{
				// New code is uploaded in place too.
				PreConfig: func() { writeFile(t, src, "index.js", "exports.handler = async () => ({ v: 2 })") },
				Config:    b.config("update", src, "", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(resourceAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(s *terraformState) error { return b.sameComponents(s, before) },
			},
		},
	})
}

func testTriggerSwap(t *testing.T, b *backend) {
	src := sourceDir(t)
	var before driver.State
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: b.config("swap", src, "", ""), Check: b.capture(&before)},
			{
				Config: b.config("swap", src, `trigger = { kind = "topic" }`, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(resourceAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(resourceAddr, at("publish_target")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(resourceAddr, at("components"), knownvalue.MapSizeExact(b.components(spec.Topic))),
				},
				Check: func(s *terraformState) error {
					return b.sameComponentsOf(s, before, driver.Function, driver.DedupTable, driver.DeadLetter, driver.Identity)
				},
			},
			{
				Config: b.config("swap", src, "", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(resourceAddr, at("components"), knownvalue.MapSizeExact(b.components(spec.Queue))),
				},
			},
		},
	})
}

func testReplace(t *testing.T, b *backend) {
	src := sourceDir(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: b.config("first", src, "", "")},
			{
				Config: b.config("second", src, "", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(resourceAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(resourceAddr, at("id"), knownvalue.StringExact(b.importID("second"))),
				},
			},
		},
	})
}

// testDisappears deletes each component behind the provider's back: the next plan must show the
// handler changing, and the apply must bring just that component back.
func testDisappears(t *testing.T, b *backend) {
	src := sourceDir(t)
	cfg := b.config("gone", src, `trigger = { kind = "topic" }`, "")
	var st driver.State
	steps := []resource.TestStep{{Config: cfg, Check: b.capture(&st)}}
	for _, c := range b.Cloud().Needs(&spec.Handler{Trigger: spec.Trigger{Kind: spec.Topic}}) {
		steps = append(steps, resource.TestStep{
			PreConfig: func() {
				if err := b.Remove(context.Background(), st, c); err != nil {
					t.Fatalf("removing %s: %v", c, err)
				}
			},
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(resourceAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(resourceAddr, at("components")),
				},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(resourceAddr, at("components"), knownvalue.MapSizeExact(b.components(spec.Topic))),
			},
			Check: b.capture(&st),
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps:                    steps,
	})
}

// testFailedCreate fails the creation of each component in turn: the apply must fail naming the
// component and leave nothing behind.
func testFailedCreate(t *testing.T, b *backend) {
	src := sourceDir(t)
	for _, c := range b.Cloud().Needs(&spec.Handler{Trigger: spec.Trigger{Kind: spec.Topic}}) {
		t.Run(string(c), func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: b.factories,
				CheckDestroy:             b.checkNoLeftovers,
				Steps: []resource.TestStep{{
					PreConfig:   func() { b.FailCreate(c) },
					Config:      b.config("fails", src, `trigger = { kind = "topic" }`, ""),
					ExpectError: regexp.MustCompile("(?i)creating " + regexp.QuoteMeta(b.Cloud().Display(c))),
				}},
			})
			if err := b.checkNoLeftovers(nil); err != nil {
				t.Error(err)
			}
		})
	}
}

// testImportKilled: an apply killed after some components and before the function leaves them in no
// state. Importing the handler picks them up, and the next apply makes the rest.
func testImportKilled(t *testing.T, b *backend) {
	// An import that persists its state runs in the test's working directory without a new init, on
	// the configuration as written: it names its provider itself.
	const providers = `terraform {
  required_providers {
    threefactor = { source = "threefactor/threefactor" }
  }
}
`
	cfg := providers + b.config("killed", sourceDir(t), "", "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{
				// The driver alone, as a killed apply would leave the cloud: no rollback, no state.
				// (An import cannot be a test's first step: this one initialises the working directory.)
				Config: providers + b.provider,
				PreConfig: func() {
					h := drivertest.Handler("killed", b.Cloud())
					h.Function.SourceHash = b.Code().Hash
					b.FailCreate(driver.Function)
					if _, _, err := b.Driver().Apply(context.Background(), h, b.Code(), nil); err == nil {
						t.Fatal("Apply with the function failing: no error")
					}
				},
			},
			{
				Config:             cfg,
				ResourceName:       resourceAddr,
				ImportState:        true,
				ImportStateId:      b.importID("killed"),
				ImportStatePersist: true,
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(resourceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(resourceAddr, at("components"), knownvalue.MapSizeExact(b.components(spec.Queue))),
					statecheck.ExpectKnownValue(resourceAddr, at("function_id"), knownvalue.NotNull()),
				},
			},
		},
	})
}

// testUnknownAtPlan feeds settings from another resource being created in the same apply, so they are
// unknown when the handler is planned: validation and planning must wait for them, not fail.
func testUnknownAtPlan(t *testing.T, b *backend) {
	source, err := b.ExistingSource(context.Background(), spec.Queue)
	if err != nil {
		t.Fatal(err)
	}
	w, _, _ := changedConfig(b.Cloud())
	r := b.Cloud().Rules
	cfg := b.config("later", sourceDir(t), `
  trigger = { source = terraform_data.upstream.output.queue }
  tags    = { team = terraform_data.upstream.output.team }`, `
    memory_mb   = terraform_data.upstream.output.memory
    environment = { TABLE = terraform_data.upstream.output.table }`) + fmt.Sprintf(`
resource "terraform_data" "upstream" {
  input = { queue = %q, team = "orders", memory = %d, table = "orders" }
}
`, source, w.Function.MemoryMB)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(resourceAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue(resourceAddr, at("trigger", "source")),
					// What does not depend on the unknown values is known at plan: the code's hash, the
					// cloud's defaults.
					plancheck.ExpectKnownValue(resourceAddr, at("source_hash"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
					plancheck.ExpectKnownValue(resourceAddr, at("dedup", "ttl_s"), knownvalue.Int64Exact(r.Defaults.DedupTTLS)),
				},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(resourceAddr, at("trigger_source_id"), knownvalue.StringExact(source)),
				statecheck.ExpectKnownValue(resourceAddr, at("function", "memory_mb"), knownvalue.Int64Exact(w.Function.MemoryMB)),
				statecheck.ExpectKnownValue(resourceAddr, at("function", "environment"), knownvalue.MapExact(map[string]knownvalue.Check{"TABLE": knownvalue.StringExact("orders")})),
				statecheck.ExpectKnownValue(resourceAddr, at("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{"team": knownvalue.StringExact("orders")})),
				statecheck.ExpectKnownValue(resourceAddr, at("trigger", "visibility_timeout_s"), knownvalue.Int64Exact(r.VisibilityDefault(r.Defaults.TimeoutS, r.Defaults.BatchWindowS))),
			},
		}},
	})
}
