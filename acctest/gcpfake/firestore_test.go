package gcpfake

import (
	"context"
	"strings"
	"testing"

	firestoreadmin "cloud.google.com/go/firestore/apiv1/admin"
	"cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func firestoreClient(t *testing.T, s *Server) *firestoreadmin.FirestoreAdminClient {
	t.Helper()
	c, err := firestoreadmin.NewFirestoreAdminClient(context.Background(), s.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func nativeDB() *adminpb.Database {
	return &adminpb.Database{LocationId: "eur3", Type: adminpb.Database_FIRESTORE_NATIVE}
}

// TestFirestoreDatabases: create (an operation), get, list, delete; id rules, ALREADY_EXISTS,
// NOT_FOUND and delete protection.
func TestFirestoreDatabases(t *testing.T) {
	s, ctx := start(t, Options{})
	c := firestoreClient(t, s)
	proj := "projects/" + s.Project()
	op, err := c.CreateDatabase(ctx, &adminpb.CreateDatabaseRequest{Parent: proj, DatabaseId: "threefactor-dedup", Database: nativeDB()})
	if err != nil {
		t.Fatal(err)
	}
	db, err := op.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name := proj + "/databases/threefactor-dedup"
	if db.GetName() != name || db.GetUid() == "" || db.GetType() != adminpb.Database_FIRESTORE_NATIVE {
		t.Errorf("created database: %v", db)
	}
	_, err = c.CreateDatabase(ctx, &adminpb.CreateDatabaseRequest{Parent: proj, DatabaseId: "threefactor-dedup", Database: nativeDB()})
	wantCode(t, "CreateDatabase of a taken id", err, codes.AlreadyExists)
	for _, id := range []string{"abc", strings.Repeat("a", 64), "Dedup", "1dedup", "dedup-", "de_dup", "123e4567-e89b-12d3-a456-426614174000", ""} {
		_, err := c.CreateDatabase(ctx, &adminpb.CreateDatabaseRequest{Parent: proj, DatabaseId: id, Database: nativeDB()})
		wantCode(t, "CreateDatabase "+id, err, codes.InvalidArgument)
	}
	_, err = c.CreateDatabase(ctx, &adminpb.CreateDatabaseRequest{Parent: proj, DatabaseId: "no-location", Database: &adminpb.Database{Type: adminpb.Database_FIRESTORE_NATIVE}})
	wantCode(t, "CreateDatabase without a location", err, codes.InvalidArgument)
	protected := nativeDB()
	protected.DeleteProtectionState = adminpb.Database_DELETE_PROTECTION_ENABLED
	op, err = c.CreateDatabase(ctx, &adminpb.CreateDatabaseRequest{Parent: proj, DatabaseId: "(default)", Database: protected})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	dbs, err := c.ListDatabases(ctx, &adminpb.ListDatabasesRequest{Parent: proj})
	if err != nil || len(dbs.GetDatabases()) != 2 {
		t.Errorf("ListDatabases = %v, %v; want 2", dbs, err)
	}
	_, err = c.DeleteDatabase(ctx, &adminpb.DeleteDatabaseRequest{Name: proj + "/databases/(default)"})
	wantCode(t, "DeleteDatabase with delete protection", err, codes.FailedPrecondition)
	del, err := c.DeleteDatabase(ctx, &adminpb.DeleteDatabaseRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if gone, err := del.Wait(ctx); err != nil || gone.GetDeleteTime() == nil {
		t.Errorf("DeleteDatabase: %v, %v", gone, err)
	}
	_, err = c.GetDatabase(ctx, &adminpb.GetDatabaseRequest{Name: name})
	wantCode(t, "GetDatabase after delete", err, codes.NotFound)
	_, err = c.DeleteDatabase(ctx, &adminpb.DeleteDatabaseRequest{Name: name})
	wantCode(t, "DeleteDatabase of a deleted database", err, codes.NotFound)
}

// TestFirestoreTTL: a TTL policy set with UpdateField and an update mask is CREATING, then ACTIVE once
// its operation is done; one TTL field per collection group; disabling removes it.
func TestFirestoreTTL(t *testing.T) {
	s, ctx := start(t, Options{})
	c := firestoreClient(t, s)
	proj := "projects/" + s.Project()
	op, err := c.CreateDatabase(ctx, &adminpb.CreateDatabaseRequest{Parent: proj, DatabaseId: "threefactor-dedup", Database: nativeDB()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	db := proj + "/databases/threefactor-dedup"
	field := db + "/collectionGroups/orders/fields/expires_at"
	ttlMask := &fieldmaskpb.FieldMask{Paths: []string{"ttl_config"}}
	_, err = c.UpdateField(ctx, &adminpb.UpdateFieldRequest{
		Field:      &adminpb.Field{Name: proj + "/databases/missing-db/collectionGroups/orders/fields/expires_at", TtlConfig: &adminpb.Field_TtlConfig{}},
		UpdateMask: ttlMask,
	})
	wantCode(t, "UpdateField in a missing database", err, codes.NotFound)
	up, err := c.UpdateField(ctx, &adminpb.UpdateFieldRequest{Field: &adminpb.Field{Name: field, TtlConfig: &adminpb.Field_TtlConfig{}}, UpdateMask: ttlMask})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.TTLFields()[field]; got != adminpb.Field_TtlConfig_CREATING {
		t.Errorf("TTL state before the operation is done: %v, want CREATING", got)
	}
	f, err := up.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.GetTtlConfig().GetState() != adminpb.Field_TtlConfig_ACTIVE {
		t.Errorf("field after the operation: %v, want TTL ACTIVE", f)
	}
	if meta, err := up.Metadata(); err != nil || meta.GetTtlConfigDelta().GetChangeType() != adminpb.FieldOperationMetadata_TtlConfigDelta_ADD {
		t.Errorf("operation metadata %v, %v", meta, err)
	}
	if got, err := c.GetField(ctx, &adminpb.GetFieldRequest{Name: field}); err != nil || got.GetTtlConfig().GetState() != adminpb.Field_TtlConfig_ACTIVE {
		t.Errorf("GetField = %v, %v", got, err)
	}
	if got, err := c.GetField(ctx, &adminpb.GetFieldRequest{Name: db + "/collectionGroups/orders/fields/other"}); err != nil || got.GetTtlConfig() != nil || !got.GetIndexConfig().GetUsesAncestorConfig() {
		t.Errorf("GetField of a field never configured = %v, %v; want the inherited configuration", got, err)
	}
	_, err = c.UpdateField(ctx, &adminpb.UpdateFieldRequest{Field: &adminpb.Field{Name: db + "/collectionGroups/orders/fields/other_ts", TtlConfig: &adminpb.Field_TtlConfig{}}, UpdateMask: ttlMask})
	wantCode(t, "a second TTL field in the collection group", err, codes.FailedPrecondition)
	_, err = c.UpdateField(ctx, &adminpb.UpdateFieldRequest{Field: &adminpb.Field{Name: field}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
	wantCode(t, "UpdateField with mask name", err, codes.InvalidArgument)

	var listed []string
	it := c.ListFields(ctx, &adminpb.ListFieldsRequest{Parent: db + "/collectionGroups/-", Filter: "ttlConfig:*"})
	for {
		f, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, f.GetName())
	}
	if len(listed) != 1 || listed[0] != field {
		t.Errorf("ListFields(ttlConfig:*) = %q", listed)
	}
	_, err = c.ListFields(ctx, &adminpb.ListFieldsRequest{Parent: db + "/collectionGroups/orders"}).Next()
	wantCode(t, "ListFields without a filter", err, codes.InvalidArgument)
	if got := s.Leftovers(); len(got) != 2 || got[1] != "ttl "+field {
		t.Errorf("Leftovers = %q", got)
	}

	off, err := c.UpdateField(ctx, &adminpb.UpdateFieldRequest{Field: &adminpb.Field{Name: field}, UpdateMask: ttlMask})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.TTLFields(); len(got) != 0 {
		t.Errorf("TTLFields after disabling = %v", got)
	}
}

// TestFieldConfigLimit: a database holds at most MaxFieldConfigs field configurations.
func TestFieldConfigLimit(t *testing.T) {
	s, ctx := start(t, Options{MaxFieldConfigs: 2, OperationDelay: -1})
	c := firestoreClient(t, s)
	proj := "projects/" + s.Project()
	if _, err := c.CreateDatabase(ctx, &adminpb.CreateDatabaseRequest{Parent: proj, DatabaseId: "dedup", Database: nativeDB()}); err != nil {
		t.Fatal(err)
	}
	for i, group := range []string{"a", "b", "c"} {
		_, err := c.UpdateField(ctx, &adminpb.UpdateFieldRequest{
			Field:      &adminpb.Field{Name: proj + "/databases/dedup/collectionGroups/" + group + "/fields/expires_at", TtlConfig: &adminpb.Field_TtlConfig{}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ttl_config"}},
		})
		if i < 2 && err != nil {
			t.Errorf("TTL field %d: %v", i+1, err)
		}
		if i == 2 {
			wantCode(t, "a third field configuration", err, codes.ResourceExhausted)
		}
	}
}

// TestDatabaseDeletedHook: DeleteDatabase names the database it deleted to Options.DatabaseDeleted
// before it returns, and not for a refused delete.
func TestDatabaseDeletedHook(t *testing.T) {
	var deleted []string
	s, ctx := start(t, Options{DatabaseDeleted: func(name string) { deleted = append(deleted, name) }})
	c := firestoreClient(t, s)
	proj := "projects/" + s.Project()
	op, err := c.CreateDatabase(ctx, &adminpb.CreateDatabaseRequest{Parent: proj, DatabaseId: "orders", Database: nativeDB()})
	if err == nil {
		_, err = op.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteDatabase(ctx, &adminpb.DeleteDatabaseRequest{Name: proj + "/databases/orders", Etag: "stale"})
	wantCode(t, "DeleteDatabase with a stale etag", err, codes.Aborted)
	if len(deleted) != 0 {
		t.Fatalf("a refused delete was reported: %v", deleted)
	}
	if _, err := c.DeleteDatabase(ctx, &adminpb.DeleteDatabaseRequest{Name: proj + "/databases/orders"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{proj + "/databases/orders"}; len(deleted) != 1 || deleted[0] != want[0] {
		t.Errorf("DatabaseDeleted saw %v, want %v", deleted, want)
	}
}
