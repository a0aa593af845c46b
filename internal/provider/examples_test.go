package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleMain is dir/main.tf with its code path made absolute (plugin-testing runs in a scratch
// directory).
func exampleMain(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := filepath.Abs(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "${path.module}/src", src)
}

// withoutOutputs cuts a configuration before its outputs: an import leaves out the handlers they
// name, whose nulls plugin-testing cannot take.
func withoutOutputs(cfg string) string { return cfg[:strings.Index(cfg, "output ")] }

// quickstartOn is the resource blocks of the AWS quickstart with only `cloud` changed.
func quickstartOn(t *testing.T, cloud string) string {
	t.Helper()
	cfg := exampleMain(t, "../../examples/quickstart")
	blocks := withoutOutputs(cfg[strings.Index(cfg, `resource "threefactor_eventhandler"`):])
	return strings.ReplaceAll(blocks, `cloud = "aws"`, `cloud = "`+cloud+`"`)
}
