package gcpfunctions

import (
	"context"
	"time"

	fsadmin "cloud.google.com/go/firestore/apiv1/admin"
	"cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

type databaseSeen struct {
	name  string
	ttlOn bool
}

// createDatabase creates a Firestore native database in the region (Google encrypts it at rest):
// the handler's dedup database, so that the identity's grant covers its records and nothing else,
// or an app's table, so that a grant covers that table only. c is the component it is.
func (d *Driver) createDatabase(ctx context.Context, c driver.Component, id string) (string, error) {
	name := d.databaseName(id)
	start := time.Now()
	var op *fsadmin.CreateDatabaseOperation
	err := d.create(func(retry gax.CallOption) error {
		o, err := d.firestore.CreateDatabase(ctx, &adminpb.CreateDatabaseRequest{
			Parent: "projects/" + d.project, DatabaseId: id,
			Database: &adminpb.Database{
				LocationId: d.region, Type: adminpb.Database_FIRESTORE_NATIVE,
				ConcurrencyMode:       adminpb.Database_OPTIMISTIC,
				DeleteProtectionState: adminpb.Database_DELETE_PROTECTION_DISABLED,
			},
		}, retry)
		op = o
		return err
	}, func() (bool, error) {
		// Databases take no labels: one made since this create began is taken as its own.
		db, err := d.firestore.GetDatabase(ctx, &adminpb.GetDatabaseRequest{Name: name}, d.retry)
		return err == nil && db.GetCreateTime().AsTime().After(start.Add(-5*time.Second)), err
	})
	if err != nil {
		return "", fail(c, "creating", id, err)
	}
	if op != nil {
		if _, err := wait(ctx, op, d.retry); err != nil {
			return name, fail(c, "waiting for", id, err)
		}
	}
	return name, nil
}

// enableTTL puts the TTL policy on the records' expires_at: Firestore deletes expired records
// typically within 24 hours, so the runtime library checks expiry itself.
func (d *Driver) enableTTL(ctx context.Context, database string) error {
	return d.setTTL(ctx, driver.DedupTable, fieldName(database, collection, ttlField), true)
}

// setTTL puts a TTL policy on a field (the full name of fieldName), or with on false removes it.
func (d *Driver) setTTL(ctx context.Context, c driver.Component, field string, on bool) error {
	f := &adminpb.Field{Name: field}
	if on {
		f.TtlConfig = &adminpb.Field_TtlConfig{}
	}
	op, err := d.firestore.UpdateField(ctx, &adminpb.UpdateFieldRequest{Field: f, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ttl_config"}}}, d.retry)
	if err == nil {
		_, err = wait(ctx, op, d.retry)
	}
	action := "enabling TTL on"
	if !on {
		action = "removing the TTL policy of"
	}
	return fail(c, action, field, err)
}

// fieldName is the admin API's name of a field of a collection group in a database.
func fieldName(database, group, field string) string {
	return database + "/collectionGroups/" + group + "/fields/" + field
}

// readDatabase returns nil when the database is gone; it reads the TTL field too.
func (d *Driver) readDatabase(ctx context.Context, name string) (*databaseSeen, error) {
	_, err := d.firestore.GetDatabase(ctx, &adminpb.GetDatabaseRequest{Name: name}, d.retry)
	if found, err := codesOf.Exists(err); !found {
		return nil, fail(driver.DedupTable, "reading", name, err)
	}
	f, err := d.firestore.GetField(ctx, &adminpb.GetFieldRequest{Name: fieldName(name, collection, ttlField)}, d.retry)
	if err != nil && !isNotFound(err) {
		return nil, fail(driver.DedupTable, "reading the TTL of", name, err)
	}
	return &databaseSeen{name: name, ttlOn: f.GetTtlConfig() != nil && f.GetTtlConfig().GetState() != adminpb.Field_TtlConfig_NEEDS_REPAIR}, nil
}

// deleteDatabase deletes the database with every document in it, and its TTL policies.
func (d *Driver) deleteDatabase(ctx context.Context, c driver.Component, name string) error {
	op, err := d.firestore.DeleteDatabase(ctx, &adminpb.DeleteDatabaseRequest{Name: name}, d.retry)
	if err == nil {
		_, err = wait(ctx, op, d.retry)
	}
	return fail(c, "deleting", name, codesOf.IgnoreNotFound(err))
}
