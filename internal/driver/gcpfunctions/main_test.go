package gcpfunctions_test

import (
	"os"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
)

func TestMain(m *testing.M) {
	code := m.Run()
	gcloud.StopShared()
	os.Exit(code)
}
