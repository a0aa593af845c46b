package runner_test

import (
	"os"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
)

// TestMain stops the Google emulators the tests started, quicker and quieter than their dying with
// the test binary.
func TestMain(m *testing.M) {
	code := m.Run()
	gcloud.StopShared()
	os.Exit(code)
}
