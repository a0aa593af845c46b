package provider

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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

// appliedBy names, for every Terraform file under examples/ (relative to it), the test of this
// package that applies it and destroys it leaving nothing. A new example gets its test and a line
// here; TestExamplesApplied fails until it has both.
var appliedBy = map[string]string{
	"provider/provider.tf":                                  "TestAccExamplesAWS_resource",
	"resources/threefactor_eventhandler/resource.tf":        "TestAccExamplesAWS_resource",
	"resources/threefactor_eventhandler/existing-source.tf": "TestAccExamplesAWS_existingSource",
	"quickstart/main.tf":                                    "TestAccExamplesAWS_quickstart",
	"gcp/main.tf":                                           "TestAccExamplesGCP_quickstart",
	"azure/main.tf":                                         "TestAccExamplesAzure_quickstart",
	"resources/threefactor_topic/resource.tf":               "TestAccExamplesAWS_parts",
	"resources/threefactor_table/resource.tf":               "TestAccExamplesAWS_parts",
}

// appliedElsewhere are the directories of examples/ applied and destroyed outside this package, each
// with the file (relative to the repository) that does it, which must name the directory. An entry
// whose directory does not exist yet is not checked.
var appliedElsewhere = map[string]string{
	"demo":      "scripts/demo.sh", // `make demo`, which CI runs
	"event-app": "cmd/threefactor/module_test.go",
}

// TestExamplesApplied: every Terraform configuration under examples/ is applied and destroyed by
// make test or by CI, as appliedBy and appliedElsewhere say, and every test they name exists.
func TestExamplesApplied(t *testing.T) {
	tests := map[string]bool{}
	sources, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`).FindAllStringSubmatch(string(b), -1) {
			tests[m[1]] = true
		}
	}
	elsewhere := func(rel string) bool {
		for dir, by := range appliedElsewhere {
			if rel == dir || strings.HasPrefix(rel, dir+"/") {
				b, err := os.ReadFile(filepath.Join("../..", by))
				if err != nil || !strings.Contains(string(b), "examples/"+dir) {
					t.Errorf("examples/%s is said to be applied by %s, which does not name it (%v)", dir, by, err)
				}
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	err = filepath.WalkDir("../../examples", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".tf" {
			return err
		}
		rel, err := filepath.Rel("../../examples", path)
		if err != nil || elsewhere(filepath.Dir(rel)) {
			return err
		}
		seen[rel] = true
		switch test, ok := appliedBy[rel]; {
		case !ok:
			t.Errorf("examples/%s is applied by no test: write one that applies and destroys it, and add it to appliedBy", rel)
		case !tests[test]:
			t.Errorf("examples/%s: appliedBy names %s, which is not a test of this package", rel, test)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range appliedBy {
		if !seen[rel] {
			t.Errorf("appliedBy lists examples/%s, which does not exist", rel)
		}
	}
}
