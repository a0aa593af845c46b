package provider

import (
	"errors"
	"strings"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
)

func TestErrorDiags(t *testing.T) {
	err := errors.Join(
		driver.Errorf(driver.Identity, "creating", "orders--us-east-1", driver.AlreadyExists, errors.New("EntityAlreadyExists: Role with name orders--us-east-1 already exists.")),
		errors.Join(driver.Errorf(driver.DedupTable, "creating", "orders--dedup", driver.Unknown, errors.New("ThrottlingException"))),
		errors.New("connection reset"),
	)
	diags := errorDiags(awslambda.Cloud, err, "Fix the cause and apply again.")
	want := []struct{ summary, detail string }{
		{"Creating IAM role (orders--us-east-1)", "import the handler"},
		{"Creating dedup table (orders--dedup)", "Fix the cause and apply again.\n\nThrottlingException"},
		{"Event handler operation failed", "Fix the cause and apply again.\n\nconnection reset"},
	}
	if len(diags) != len(want) {
		t.Fatalf("%d diagnostics, want one per failed component (%d): %v", len(diags), len(want), diags)
	}
	for i, w := range want {
		if diags[i].Summary() != w.summary || !strings.Contains(diags[i].Detail(), w.detail) {
			t.Errorf("diagnostic %d = %q / %q, want %q / containing %q", i, diags[i].Summary(), diags[i].Detail(), w.summary, w.detail)
		}
	}
	if d := diags[0].Detail(); !strings.HasSuffix(d, "Role with name orders--us-east-1 already exists.") || !strings.Contains(d, "Fix the cause") {
		t.Errorf("already-exists detail %q: want the import advice, the caller's advice, then the cloud's words", d)
	}
}
