package awslambda_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
)

const region = "us-east-1"

// One moto serves the package's tests, which run one after another and Reset it.
var (
	server    *moto.Server
	serverErr error
)

func TestMain(m *testing.M) {
	server, serverErr = moto.Start(context.Background())
	code := m.Run()
	if server != nil {
		server.Close()
	}
	os.Exit(code)
}

// emulator returns the package's moto, reset. Without moto_server it skips t, or fails it under CI.
func emulator(t *testing.T) *moto.Server {
	t.Helper()
	if errors.Is(serverErr, moto.ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(serverErr)
	}
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	if err := server.Reset(); err != nil {
		t.Fatal(err)
	}
	return server
}

// newDriver returns a driver that reaches moto through the counting, fault-injecting proxy.
func newDriver(t *testing.T, s *moto.Server) *awslambda.Driver {
	t.Helper()
	d, err := awslambda.New(context.Background(), awslambda.Config{Region: region, Endpoint: s.URL, Credentials: moto.Credentials, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
