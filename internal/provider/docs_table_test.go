package provider

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated section of the docs templates")

// generatedTemplates hold the per-cloud tables.
var generatedTemplates = []string{"../../templates/resources/eventhandler.md.tmpl", "../../templates/guides/moving-between-clouds.md.tmpl"}

const (
	tableStart = "<!-- generated from the clouds' descriptions by `go test ./internal/provider -run TestDocsCloudTable -update` -->\n"
	tableEnd   = "<!-- end of generated section -->\n"
)

// TestDocsCloudTable: the per-cloud tables of the resource docs and of the guide "Moving a handler
// between clouds" are the ones the clouds' descriptions make. scripts/docs.sh runs it with -update
// before tfplugindocs, and CI fails on stale docs.
func TestDocsCloudTable(t *testing.T) {
	for _, file := range generatedTemplates {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := string(b)
		start, end := strings.Index(tmpl, tableStart), strings.Index(tmpl, tableEnd)
		if start < 0 || end < start {
			t.Fatalf("%s has no generated section between %q and %q", file, tableStart, tableEnd)
		}
		want := tmpl[:start+len(tableStart)] + cloudTable(Clouds()) + tmpl[end:]
		if want == tmpl {
			continue
		}
		if !*update {
			t.Fatalf("%s: the per-cloud table differs from the clouds' descriptions; run `make generate`", file)
		}
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The shipped provider has no test cloud: mem is registered by tests only.
func TestShippedClouds(t *testing.T) {
	var names []string
	for _, c := range Clouds() {
		names = append(names, string(c.Name))
	}
	if got := strings.Join(names, ","); got != "aws,gcp,azure" {
		t.Errorf("Clouds() = %s, want aws,gcp,azure", got)
	}
	if _, err := clouds(Clouds()).lookup("mem"); err == nil {
		t.Error("the shipped provider accepts cloud = \"mem\"")
	}
}
