package firestorestore_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	firestorepb "cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

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

// counter counts the documents read and written through a client's RPCs.
type counter struct {
	mu            sync.Mutex
	reads, writes int
}

func (c *counter) take() (reads, writes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reads, writes, c.reads, c.writes = c.reads, c.writes, 0, 0
	return reads, writes
}

// countingClient is a client of the emulator whose reads and writes are
// counted from the requests it sends.
func countingClient(t *testing.T, emu *firestoretest.Emulator) (*firestore.Client, *counter) {
	c := &counter{}
	conn, err := grpc.NewClient("passthrough:///"+emu.Host,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(owner{}),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if r, ok := req.(*firestorepb.CommitRequest); ok {
				c.mu.Lock()
				c.writes += len(r.Writes)
				c.mu.Unlock()
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, opts...)
			return &countingStream{ClientStream: s, c: c}, err
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	project := firestoretest.Project()
	client, err := firestore.NewClientWithDatabase(context.Background(), project, firestoretest.Database, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.Close()
		emu.Reset(t, project, firestoretest.Database)
	})
	return client, c
}

type countingStream struct {
	grpc.ClientStream
	c *counter
}

func (s *countingStream) SendMsg(m any) error {
	if r, ok := m.(*firestorepb.BatchGetDocumentsRequest); ok {
		s.c.mu.Lock()
		s.c.reads += len(r.Documents)
		s.c.mu.Unlock()
	}
	return s.ClientStream.SendMsg(m)
}

// owner is the emulator's admin credential, as the client sends it.
type owner struct{}

func (owner) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}
func (owner) RequireTransportSecurity() bool { return false }

// The reads and writes per event that the package doc states, per mode.
func TestReadsAndWritesPerEvent(t *testing.T) {
	emu := firestoretest.Shared(t)
	client, c := countingClient(t, emu)
	s, err := firestorestore.New(client, firestorestore.Options{Collection: "dedup"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	want := func(step string, reads, writes int) {
		t.Helper()
		if r, w := c.take(); r != reads || w != writes {
			t.Errorf("%s: %d reads, %d writes; want %d, %d", step, r, w, reads, writes)
		}
	}
	w := func(key string) store.StateWrite {
		return store.StateWrite{Table: "orders", Key: key, Version: 5, Event: "e", Attributes: map[string]any{"status": "x"}}
	}
	claim := store.Record{Key: "k1", Status: store.InProgress, Token: "t", ExpiresAt: now.Add(time.Hour), ClaimExpiresAt: now.Add(time.Minute)}
	c.take()
	// ClaimComplete.
	if _, err := s.Claim(ctx, claim, now); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx, w("o1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "k1", "t", nil, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want("claim-complete, first delivery", 2, 3)
	claim.Token = "u"
	if _, err := s.Claim(ctx, claim, now); !errors.Is(err, store.ErrHeld) {
		t.Fatal(err)
	}
	want("claim-complete, duplicate (the refused create counts as a write sent)", 1, 1)
	// Transactional.
	done := store.Record{Key: "k2", Status: store.Completed, Token: "t", ExpiresAt: now.Add(time.Hour)}
	ow := w("o2")
	if _, err := s.Commit(ctx, done, now, &ow); err != nil {
		t.Fatal(err)
	}
	want("transactional, first delivery", 2, 2)
	if _, err := s.Commit(ctx, done, now, &ow); !errors.Is(err, store.ErrHeld) {
		t.Fatal(err)
	}
	want("transactional, duplicate", 2, 0)
	// SingleWrite.
	if err := s.PutStateOnce(ctx, w("o3")); err != nil {
		t.Fatal(err)
	}
	want("single-write, first delivery", 1, 1)
	if err := s.PutStateOnce(ctx, w("o3")); !errors.Is(err, store.ErrDuplicate) {
		t.Fatal(err)
	}
	want("single-write, duplicate", 1, 0)
}

// The launcher's Reset empties one project's database and leaves the others' alone.
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

// StateTable resolves a granted table's store URL, as the provider injects it, to the full path
// the store writes state to; another scheme is refused.
func TestStateTable(t *testing.T) {
	s, err := firestorestore.New(&firestore.Client{}, firestorestore.Options{Collection: "dedup"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("firestore://projects/p/databases/orders/documents/orders")
	if got, err := s.StateTable(u); err != nil || got != "projects/p/databases/orders/documents/orders" {
		t.Errorf("StateTable(%s) = %q, %v", u, got, err)
	}
	u, _ = url.Parse("dynamodb://orders?region=us-east-1")
	if _, err := s.StateTable(u); err == nil {
		t.Errorf("StateTable(%s) accepted", u)
	}
}

// A state table named by its full path lives in another database (a
// threefactor_table's, or the user's (default)); Transactional keeps the
// event's record beside it, since a transaction spans one database.
func TestStateInAnotherDatabase(t *testing.T) {
	emu := firestoretest.Shared(t)
	project := firestoretest.Project()
	dedup := emu.Client(t, project, firestoretest.Database)
	user := emu.Client(t, project, "(default)")
	s, err := firestorestore.New(dedup, firestorestore.Options{Collection: "dedup"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	table := "projects/" + project + "/databases/(default)/documents/orders"
	if _, err := user.Collection("orders").Doc("o-1").Set(ctx, map[string]any{"owner": "billing"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx, store.StateWrite{Table: table, Key: "o-1", Version: 2, Event: "e2", Attributes: map[string]any{"status": "shipped"}}); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if err := s.PutStateOnce(ctx, store.StateWrite{Table: table, Key: "o-1", Version: 2, Event: "e2"}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("PutStateOnce of the same event err = %v; want ErrDuplicate", err)
	}
	if st, err := s.GetState(ctx, table, "o-1"); err != nil || st.Version != 2 || st.Attributes["status"] != "shipped" || st.Attributes["owner"] != "billing" {
		t.Errorf("GetState = %+v, %v; want version 2, shipped, owner kept", st, err)
	}
	if snap, err := user.Collection("orders").Doc("o-1").Get(ctx); err != nil || snap.Data()["status"] != "shipped" {
		t.Errorf("the order in (default) = %v, %v; want it shipped", snap, err)
	}
	if _, err := dedup.Collection("orders").Doc("o-1").Get(ctx); status.Code(err) != codes.NotFound {
		t.Errorf("the order in the dedup database: err = %v; want NotFound", err)
	}
	// The dedup database's own full path is the store's database.
	own := "projects/" + project + "/databases/" + firestoretest.Database + "/documents/orders"
	rec := store.Record{Key: "k", Status: store.Completed, Token: "t", ExpiresAt: time.Now().Add(time.Hour)}
	if _, err := s.Commit(ctx, rec, time.Now(), &store.StateWrite{Table: own, Key: "o-2", Version: 1, Event: "e1"}); err != nil {
		t.Errorf("Commit into the dedup database by full path: %v", err)
	}
	rec.Key = "k2"
	if _, err := s.Commit(ctx, rec, time.Now(), &store.StateWrite{Table: table, Key: "o-1", Version: 3, Event: "e3"}); err != nil {
		t.Fatalf("Commit into another database: %v", err)
	}
	if snap, err := user.Collection(firestorestore.ColocatedCollection).Doc(firestorestore.DocID("k2")).Get(ctx); err != nil || snap.Data()["status"] != "COMPLETED" {
		t.Errorf("the record beside the state = %v, %v; want it completed in %s", snap, err, firestorestore.ColocatedCollection)
	}
	if st, err := s.GetState(ctx, table, "o-1"); err != nil || st.Version != 3 {
		t.Errorf("GetState after the Commit = %+v, %v; want version 3", st, err)
	}
	// A redelivery finds the record there: nothing is written again.
	rec.Token = "t2"
	held, err := s.Commit(ctx, rec, time.Now(), &store.StateWrite{Table: table, Key: "o-1", Version: 3, Event: "e3"})
	if !errors.Is(err, store.ErrHeld) || held == nil || held.Token != "t" {
		t.Errorf("Commit of the same key again = %+v, %v; want ErrHeld with the first token", held, err)
	}
	if _, err := s.Get(ctx, "k2", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the record in the dedup database: err = %v; want ErrNotFound (it lives beside the state)", err)
	}
}
