package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/acctest"
)

// TestModuleEventApp runs modules/event-app's own `tofu test` (its plan-level validation tests and
// its apply-level test) offline, against a kit, as the guide shows users to: a copy of the module,
// so the run leaves nothing in the repository.
func TestModuleEventApp(t *testing.T) {
	acctest.Setup(t)
	work := t.TempDir()
	kitDir := startTestKit(t, work, "aws")
	dir := filepath.Join(work, "event-app")
	if err := os.CopyFS(dir, os.DirFS("../../modules/event-app")); err != nil {
		t.Fatal(err)
	}
	out := kitTofu(t, work, kitDir, dir)("test", "-no-color")
	if !strings.Contains(out, "Success! 11 passed, 0 failed.") {
		t.Errorf("tofu test of modules/event-app:\n%s", out)
	}
}

// TestExampleEventApp applies examples/event-app, the module's example, against a kit and destroys
// it leaving nothing in the state.
func TestExampleEventApp(t *testing.T) {
	acctest.Setup(t)
	work := t.TempDir()
	kitDir := startTestKit(t, work, "aws")
	for _, dir := range []string{"modules/event-app", "examples/event-app"} {
		if err := os.CopyFS(filepath.Join(work, dir), os.DirFS("../../"+dir)); err != nil {
			t.Fatal(err)
		}
	}
	tofu := kitTofu(t, work, kitDir, filepath.Join(work, "examples/event-app"))
	tofu("get", "-no-color") // modules only: init would look the provider up in the registry, offline here
	tofu("apply", "-auto-approve", "-input=false", "-no-color")
	if topic := tofu("output", "-raw", "orders_topic"); !strings.HasPrefix(topic, "arn:aws:sns:us-east-1:") {
		t.Errorf("orders_topic = %q, want an SNS topic ARN", topic)
	}
	if plan := tofu("plan", "-detailed-exitcode", "-no-color", "-input=false"); !strings.Contains(plan, "No changes") {
		t.Errorf("a plan right after apply shows changes:\n%s", plan)
	}
	tofu("destroy", "-auto-approve", "-input=false", "-no-color")
	if left := tofu("state", "list"); strings.TrimSpace(left) != "" {
		t.Errorf("destroy left %s", left)
	}
}
