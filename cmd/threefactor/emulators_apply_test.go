package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/acctest"
)

// kitConfig is a handler on each cloud with a provider block that takes nothing but what the kit's
// env file gives: the endpoints the provider reads only from its block come from TF_VAR_ variables.
// It, and kitTest, are what the guide "Testing your handlers in CI without a cloud account" shows.
const kitConfig = `
terraform {
  required_providers {
    threefactor = { source = "threefactor/threefactor" }
  }
}

variable "threefactor_gcp_endpoint" {
  type    = string
  default = null
}

variable "threefactor_azure_endpoint" {
  type    = string
  default = null
}

provider "threefactor" {
  aws = { region = "us-east-1" }
  gcp = {
    endpoints = var.threefactor_gcp_endpoint == null ? null : {
      for api in ["functions", "iam", "run", "pubsub", "resourcemanager", "firestore_admin"] : api => var.threefactor_gcp_endpoint
    }
  }
  azure = { endpoint = var.threefactor_azure_endpoint }
}

resource "threefactor_eventhandler" "orders" {
  for_each = toset(["aws", "gcp", "azure"])
  name     = "orders-${each.key}"
  cloud    = each.key
  function = {
    runtime    = "nodejs22"
    source_dir = "${path.module}/src"
  }
}

output "publish_targets" {
  value = { for cloud, h in threefactor_eventhandler.orders : cloud => h.publish_target }
}
`

// kitTest is the guide's `tofu test` file.
const kitTest = `
run "apply_on_every_cloud" {
  assert {
    condition     = startswith(threefactor_eventhandler.orders["gcp"].publish_target, "projects/")
    error_message = "the Google handler publishes to a Pub/Sub topic"
  }
}
`

// TestEmulatorsApply applies and destroys a handler on each cloud through tofu and the provider
// built as a binary, against a kit, with only the kit's env file (sourced as the guide shows) and
// a CLI configuration that finds the provider in the environment (the env file is complete), then
// runs the guide's `tofu test` the same way.
func TestEmulatorsApply(t *testing.T) {
	acctest.Setup(t)
	work := t.TempDir()
	kitDir := startTestKit(t, work, "aws,gcp,azure")
	config := filepath.Join(work, "config")
	writeFiles(t, config, map[string]string{
		"main.tf":                   kitConfig,
		"tests/handlers.tftest.hcl": kitTest,
		"src/index.js":              "exports.handler = async () => ({});\n",
	})
	tofu := kitTofu(t, work, kitDir, config)
	tofu("apply", "-auto-approve", "-input=false", "-no-color")
	var targets map[string]string
	if err := json.Unmarshal([]byte(tofu("output", "-json", "publish_targets")), &targets); err != nil {
		t.Fatal(err)
	}
	env := readEnv(t, filepath.Join(kitDir, envFile))
	for cloud, prefix := range map[string]string{
		"aws":   env["AWS_ENDPOINT_URL"] + "/",
		"gcp":   "projects/" + env["GOOGLE_CLOUD_PROJECT"] + "/topics/",
		"azure": "/subscriptions/" + env["AZURE_SUBSCRIPTION_ID"] + "/resourceGroups/" + env["AZURE_RESOURCE_GROUP"] + "/",
	} {
		if !strings.HasPrefix(targets[cloud], prefix) {
			t.Errorf("the %s handler publishes to %q, not in the kit (%s...)", cloud, targets[cloud], prefix)
		}
	}
	tofu("destroy", "-auto-approve", "-input=false", "-no-color")
	if left := tofu("state", "list"); strings.TrimSpace(left) != "" {
		t.Errorf("destroy left %s", left)
	}
	if topics, err := listTopics(env["PUBSUB_EMULATOR_HOST"], env["GOOGLE_CLOUD_PROJECT"]); err != nil || len(topics) > 0 {
		t.Errorf("the kit's Pub/Sub emulator still holds %v after destroy (%v)", topics, err)
	}
	if out := tofu("test", "-no-color"); !strings.Contains(out, "1 passed, 0 failed") {
		t.Errorf("tofu test did not pass its one run:\n%s", out)
	}
	if topics, err := listTopics(env["PUBSUB_EMULATOR_HOST"], env["GOOGLE_CLOUD_PROJECT"]); err != nil || len(topics) > 0 {
		t.Errorf("the kit's Pub/Sub emulator still holds %v after tofu test (%v)", topics, err)
	}
}

// startTestKit starts a kit of clouds with its state under work, stopped when the test ends.
func startTestKit(t *testing.T, work, clouds string) (kitDir string) {
	t.Helper()
	bin := kitBinary(t)
	kitDir = filepath.Join(work, "kit")
	if out, err := exec.Command(bin, "emulators", "start", "--cloud", clouds, "--dir", kitDir).CombinedOutput(); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(bin, "emulators", "stop", "--dir", kitDir).CombinedOutput(); err != nil {
			t.Errorf("stop: %v\n%s", err, out)
		}
	})
	return kitDir
}

// kitTofu returns a runner of tofu in dir with nothing but the kit's env file (sourced as the guide
// shows) and a CLI configuration under work that finds the provider, built from this repository, in
// the environment. A failing command fails the test.
func kitTofu(t *testing.T, work, kitDir, dir string) func(args ...string) string {
	t.Helper()
	provider, err := goBuild("../..", "terraform-provider-threefactor")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, work, map[string]string{"tofurc": `provider_installation {
  dev_overrides { "registry.opentofu.org/threefactor/threefactor" = "` + filepath.Dir(provider) + `" }
  direct {}
}
`})
	return func(args ...string) string {
		t.Helper()
		out, err := kitCommand(work, kitDir, dir, os.Getenv("TF_ACC_TERRAFORM_PATH"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tofu %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}

// kitCommand runs bin in dir with nothing but the kit's env file (sourced as the guide shows) and
// the CLI configuration kitTofu writes under work.
func kitCommand(work, kitDir, dir, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command("sh", append([]string{"-c", `set -a; . "$0"; set +a; exec "$@"`, filepath.Join(kitDir, envFile), bin}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "TF_CLI_CONFIG_FILE=" + filepath.Join(work, "tofurc"),
		"TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1"}
	return cmd
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
