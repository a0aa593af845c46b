package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// An AWS handler carries no Google or Azure module: what `go version -m`
// lists of the built bootstrap.
func TestBinaryCarriesNoGoogleOrAzureModules(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/aws/aws-sdk-go-v2/service/dynamodb") {
		t.Fatalf("go version -m lists no DynamoDB module; is this the handler's binary?\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && (f[0] == "dep" || f[0] == "=>") &&
			(strings.HasPrefix(f[1], "cloud.google.com/") || strings.HasPrefix(f[1], "google.golang.org/") || strings.HasPrefix(f[1], "github.com/GoogleCloudPlatform/") ||
				strings.HasPrefix(f[1], "github.com/Azure/") || strings.HasPrefix(f[1], "github.com/AzureAD/")) {
			t.Errorf("the AWS handler links a Google or Azure module: %s", strings.TrimSpace(line))
		}
	}
}
