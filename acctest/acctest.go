// Package acctest is the acceptance-test harness: the tofu binary, the environment every test needs,
// (in package moto) the AWS emulator with fault injection, (in package gcpfake) fakes of the
// Google APIs that have no emulator, and (in package azurefake) a fake Azure Resource Manager with
// its token and SCM publish endpoints.
package acctest

import (
	"os"
	"path/filepath"
	"testing"
)

// Setup prepares t to drive the provider through the tofu CLI: it names the provider the way OpenTofu
// resolves it and sets static dummy credentials so that no SDK ever probes a metadata address.
// It fails when TF_ACC is set and no tofu binary is configured, rather than let terraform-plugin-testing
// try to download one.
func Setup(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	tofu := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tofu == "" {
		t.Fatal("TF_ACC_TERRAFORM_PATH is not set: run `make test`, or export TF_ACC_TERRAFORM_PATH=$(scripts/install-tofu.sh)")
	}
	if _, err := os.Stat(tofu); err != nil {
		t.Fatalf("TF_ACC_TERRAFORM_PATH: %v", err)
	}
	for k, v := range map[string]string{
		"TF_ACC_PROVIDER_HOST":        "registry.opentofu.org",
		"TF_ACC_PROVIDER_NAMESPACE":   "threefactor",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"CHECKPOINT_DISABLE":          "1",
	} {
		t.Setenv(k, v)
	}
}
