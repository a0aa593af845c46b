package firestoretest_test

import (
	"context"
	"os"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/threefactor/terraform-provider-threefactor/handler/firestorestore/firestoretest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	firestoretest.StopShared()
	os.Exit(code)
}

// Reset empties one project's database and leaves the others' alone.
func TestResetEmptiesOneDatabase(t *testing.T) {
	emu := firestoretest.Shared(t)
	if os.Getenv(firestoretest.EnvHost) != emu.Host {
		t.Fatalf("%s = %q; want %q", firestoretest.EnvHost, os.Getenv(firestoretest.EnvHost), emu.Host)
	}
	ctx := context.Background()
	p1, p2 := firestoretest.Project(), firestoretest.Project()
	c1, c2 := emu.Client(t, p1, firestoretest.Database), emu.Client(t, p2, firestoretest.Database)
	if _, err := c1.Collection("dedup").Doc("a").Set(ctx, map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Collection("dedup").Doc("a").Set(ctx, map[string]any{"n": 2}); err != nil {
		t.Fatal(err)
	}
	emu.Reset(t, p1, firestoretest.Database)
	if _, err := c1.Collection("dedup").Doc("a").Get(ctx); status.Code(err) != codes.NotFound {
		t.Errorf("after Reset, Get err = %v; want NotFound", err)
	}
	if snap, err := c2.Collection("dedup").Doc("a").Get(ctx); err != nil || snap.Data()["n"] != int64(2) {
		t.Errorf("the other project's document after Reset = %v, %v; want it kept", snap, err)
	}
}
