package gcloud

import (
	"context"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	admin "cloud.google.com/go/firestore/apiv1/admin"
	"cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func newFirestoreClient(t *testing.T, e *Emulator, project, database string) *firestore.Client {
	t.Helper()
	c, err := firestore.NewClientWithDatabase(context.Background(), project, database, e.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestFirestoreDataPlane: what the Firestore dedup store relies on works on the emulator through the
// official client: a named database used without creating it, conditional create answering
// AlreadyExists, transactions (with contention), expiry timestamps, and Reset of one database only.
func TestFirestoreDataPlane(t *testing.T) {
	e := Firestore(t)
	const named = "dedup-xyz"
	project := e.Project(t, DefaultDatabase, named)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	def := newFirestoreClient(t, e, project, DefaultDatabase)
	dedup := newFirestoreClient(t, e, project, named)

	claim := dedup.Collection("handler-orders").Doc("msg-1")
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if _, err := claim.Create(ctx, map[string]any{"state": "claimed", "expires_at": expires}); err != nil {
		t.Fatalf("Create in the named database: %v", err)
	}
	_, err := claim.Create(ctx, map[string]any{"state": "claimed"})
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("second Create: error %v, want AlreadyExists", err)
	}
	snap, err := claim.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := snap.Data()["expires_at"].(time.Time); !ok || !got.Equal(expires) {
		t.Errorf("expires_at = %v, want the Timestamp %v", snap.Data()["expires_at"], expires)
	}
	// Databases are separate: the same path in (default) is absent.
	if _, err := def.Collection("handler-orders").Doc("msg-1").Get(ctx); status.Code(err) != codes.NotFound {
		t.Errorf("Get of the path in (default): error %v, want NotFound", err)
	}

	// Concurrent read-modify-write transactions on one document: none is lost.
	counter := dedup.Collection("counters").Doc("c")
	if _, err := counter.Set(ctx, map[string]any{"n": 0}); err != nil {
		t.Fatal(err)
	}
	const writers = 5
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			errs <- dedup.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
				s, err := tx.Get(counter)
				if err != nil {
					return err
				}
				n, _ := s.Data()["n"].(int64)
				return tx.Set(counter, map[string]any{"n": n + 1})
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("transaction: %v", err)
		}
	}
	snap, err = counter.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := snap.Data()["n"]; n != int64(writers) {
		t.Errorf("counter = %v after %d transactions, want %d", n, writers, writers)
	}
	// A transaction that creates an existing document fails as a whole.
	err = dedup.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		if err := tx.Set(counter, map[string]any{"n": -1}); err != nil {
			return err
		}
		return tx.Create(claim, map[string]any{"state": "claimed"})
	})
	if status.Code(err) != codes.AlreadyExists {
		t.Errorf("transaction creating an existing document: error %v, want AlreadyExists", err)
	}
	if snap, err := counter.Get(ctx); err != nil || snap.Data()["n"] != int64(writers) {
		t.Errorf("counter after the failed transaction: %v, %v", snap.Data(), err)
	}

	// The admin API (TTL policies) is not served.
	ac, err := admin.NewFirestoreAdminClient(ctx, e.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ac.Close() }()
	_, err = ac.UpdateField(ctx, &adminpb.UpdateFieldRequest{Field: &adminpb.Field{
		Name:      "projects/" + project + "/databases/" + named + "/collectionGroups/handler-orders/fields/expires_at",
		TtlConfig: &adminpb.Field_TtlConfig{},
	}})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("UpdateField (a TTL policy): error %v, want Unimplemented", err)
	}

	// Reset of one database leaves the other's documents.
	if _, err := def.Collection("users").Doc("u").Set(ctx, map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if err := e.Reset(ctx, project, named); err != nil {
		t.Fatal(err)
	}
	if _, err := claim.Get(ctx); status.Code(err) != codes.NotFound {
		t.Errorf("Get after Reset of %s: error %v, want NotFound", named, err)
	}
	if _, err := def.Collection("users").Doc("u").Get(ctx); err != nil {
		t.Errorf("Get in (default) after Reset of %s: %v", named, err)
	}
}
