package firestorestore_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler/firestorestore"
	"github.com/threefactor/terraform-provider-threefactor/handler/firestorestore/firestoretest"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
	"github.com/threefactor/terraform-provider-threefactor/handler/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	firestoretest.StopShared()
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	emu := firestoretest.Shared(t)
	storetest.RunConformanceTests(t, storetest.WithItems{
		HarnessFunc: func(t *testing.T) (store.Store, string) {
			c := emu.Client(t, firestoretest.Project(), firestoretest.Database)
			s, err := firestorestore.New(c, firestorestore.Options{Collection: "dedup"})
			if err != nil {
				t.Fatal(err)
			}
			return s, "orders"
		},
		// Other code's write: a plain Set of the whole document.
		Write: func(t *testing.T, s store.Store, table, key string, item map[string]any) {
			c := s.(*firestorestore.Store).Client()
			if _, err := c.Collection(table).Doc(firestorestore.EntityDocID(key)).Set(context.Background(), item); err != nil {
				t.Fatalf("writing %s around the store: %v", key, err)
			}
		},
	})
}

// The URL the provider injects opens a working store on the database it
// names, through FIRESTORE_EMULATOR_HOST.
func TestOpenFromURL(t *testing.T) {
	emu := firestoretest.Shared(t)
	project := firestoretest.Project()
	raw := "firestore://projects/" + project + "/databases/" + firestoretest.Database + "/documents/dedup"
	s, err := store.Open(context.Background(), raw)
	if err != nil {
		t.Fatalf("store.Open(%q): %v", raw, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	now := time.Now()
	key := "orders/ce/%2Fshop/e-1"
	rec := store.Record{Key: key, Status: store.InProgress, Token: "t", ExpiresAt: now.Add(time.Hour), ClaimExpiresAt: now.Add(time.Minute)}
	if _, err := s.Claim(context.Background(), rec, now); err != nil {
		t.Fatalf("Claim through the opened store: %v", err)
	}
	// The record is where the provider's TTL policy looks: collection
	// dedup of the named database, expires_at a timestamp.
	c := emu.Client(t, project, firestoretest.Database)
	snap, err := c.Collection("dedup").Doc(firestorestore.DocID(key)).Get(context.Background())
	if err != nil {
		t.Fatalf("reading the record back: %v", err)
	}
	if exp, ok := snap.Data()["expires_at"].(time.Time); !ok || exp.Before(rec.ExpiresAt) {
		t.Errorf("expires_at = %#v; want a timestamp not before %v", snap.Data()["expires_at"], rec.ExpiresAt)
	}
	if snap.Data()["key"] != key {
		t.Errorf("key field = %v; want %s", snap.Data()["key"], key)
	}
}

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]string{
		"firestore://projects/p/databases/d/documents/dedup":         "p d dedup",
		"firestore://projects/p/databases/(default)/documents/a/b/c": "p (default) a/b/c",
	} {
		u, _ := url.Parse(raw)
		p, d, c, err := firestorestore.ParseURL(u)
		if got := strings.Join([]string{p, d, c}, " "); err != nil || got != want {
			t.Errorf("ParseURL(%s) = %s, %v; want %s", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"firestore://projects/p/databases/d/documents",
		"firestore://projects/p/databases/d/documents/a/b",
		"firestore://projects//databases/d/documents/dedup",
		"firestore://buckets/p/databases/d/documents/dedup",
	} {
		if _, err := store.Open(context.Background(), raw); err == nil {
			t.Errorf("store.Open(%q) succeeded; want an error", raw)
		}
	}
}

func TestDocID(t *testing.T) {
	for key, want := range map[string]string{
		"orders/ce/%2Fshop/e-1":   "orders%2Fce%2F%252Fshop%2Fe-1",
		"__x__":                   "",
		strings.Repeat("k", 1600): "",
	} {
		got := firestorestore.DocID(key)
		if want == "" && !strings.HasPrefix(got, "sha256-") || want != "" && got != want {
			t.Errorf("DocID(%.20s) = %s; want %s", key, got, want)
		}
	}
}
