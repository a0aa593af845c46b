package cosmostest_test

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore/cosmostest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cosmostest.StopShared()
	os.Exit(code)
}

// The emulator listens on loopback only, and the process's environment
// points cosmosstore at its key and certificate.
func TestSharedIsLoopbackOnly(t *testing.T) {
	emu := cosmostest.Shared(t)
	host, port, err := net.SplitHostPort(emu.Host)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Host = %q; want 127.0.0.1:<port>", emu.Host)
	}
	if os.Getenv("SSL_CERT_FILE") != emu.CertFile || os.Getenv(cosmosstore.EnvKey) != cosmostest.Key {
		t.Errorf("SSL_CERT_FILE = %q, %s set = %v; want the emulator's certificate and key", os.Getenv("SSL_CERT_FILE"), cosmosstore.EnvKey, os.Getenv(cosmosstore.EnvKey) != "")
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok || ipnet.IP.IsLoopback() || ipnet.IP.IsLinkLocalUnicast() {
			continue
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ipnet.IP.String(), port), time.Second)
		if err == nil {
			_ = c.Close()
			t.Errorf("the emulator answers on %s: it must listen on 127.0.0.1 only", ipnet.IP)
		}
	}
}

// Each test's database is its own, with the container the provider makes.
func TestDatabasesAreSeparate(t *testing.T) {
	emu := cosmostest.Shared(t)
	ctx := context.Background()
	a, b := emu.Database(t), emu.Database(t)
	if a == b {
		t.Fatalf("two databases named %s", a)
	}
	c, err := emu.Client(t).NewContainer(a, cosmostest.Container)
	if err != nil {
		t.Fatal(err)
	}
	props, err := c.Read(ctx, nil)
	if err != nil {
		t.Fatalf("reading container %s of %s: %v", cosmostest.Container, a, err)
	}
	if p := props.ContainerProperties.PartitionKeyDefinition.Paths; len(p) != 1 || p[0] != "/pk" {
		t.Errorf("partition key paths %v; want [/pk]", p)
	}
	if _, err := c.CreateItem(ctx, azcosmos.NewPartitionKeyString("x"), []byte(`{"id":"i","pk":"x"}`), nil); err != nil {
		t.Fatal(err)
	}
	other, _ := emu.Client(t).NewContainer(b, cosmostest.Container)
	if _, err := other.ReadItem(ctx, azcosmos.NewPartitionKeyString("x"), "i", nil); err == nil {
		t.Errorf("the item of database %s is visible in %s", a, b)
	}
}

// Without node the emulator cannot start: an error that Shared turns into
// a failed test, never a skip.
func TestStartWithoutNodeIsAnError(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if e, err := cosmostest.Start(t.TempDir()); err == nil {
		e.Stop()
		t.Fatal("Start without node on PATH succeeded; want an error")
	}
}
