package gcpfunctions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

type tables struct{ d *Driver }

// tableCollection is the collection of a table's items in its database: the table's name, as the
// handlers' THREEFACTOR_TABLE_<NAME> says.
func tableCollection(tableID string) string { return lastPart(tableID) }

// colocated is the collection where the runtime library keeps, in Transactional mode, the dedup
// records of events whose state it writes to this table (firestorestore.ColocatedCollection): a
// Firestore transaction spans one database, so the record goes with the state, where the handler's
// read_write grant reaches. Its TTL policy is on expires_at, as in a dedup database. A table's name
// has no underscore, so its items' collection is never this one.
const colocated = "threefactor_dedup"

// tableStoreURL is THREEFACTOR_TABLE_<NAME> on Google: the runtime library's store URL of the table's
// collection, the form of THREEFACTOR_DEDUP_STORE.
func tableStoreURL(tableID string) string {
	return "firestore://" + tableID + "/documents/" + tableCollection(tableID)
}

// tableOf is the table_id a store URL made by tableStoreURL names.
func tableOf(url string) string {
	id, _, _ := strings.Cut(strings.TrimPrefix(url, "firestore://"), "/documents/")
	return id
}

func (p tables) Apply(ctx context.Context, t *spec.AppTable, id string) (string, error) {
	d := p.d
	if id != "" {
		cur, err := p.read(ctx, id)
		if err != nil || cur != nil {
			if err == nil && !cur.colocatedTTL {
				err = d.setTTL(ctx, driver.AppTable, fieldName(id, colocated, ttlField), true)
			}
			if err == nil && cur.ttl != t.TTLAttribute {
				err = p.retarget(ctx, id, cur.ttl, t.TTLAttribute)
			}
			return id, err
		}
	}
	id, err := d.createDatabase(ctx, driver.AppTable, t.Name)
	if codeOf(err) == driver.AlreadyExists {
		return "", driver.Errorf(driver.AppTable, "creating", t.Name, driver.AlreadyExists, fmt.Errorf(
			"a Firestore database named %q exists: choose another name, or import it (%s) to manage it as a table", t.Name, d.ImportID(t.Name)))
	}
	if err == nil {
		err = d.setTTL(ctx, driver.AppTable, fieldName(id, colocated, ttlField), true)
	}
	if err == nil && t.TTLAttribute != "" {
		err = d.setTTL(ctx, driver.AppTable, fieldName(id, tableCollection(id), t.TTLAttribute), true)
	}
	return id, err
}

// retarget moves the TTL policy from field have to field want ("" for none): a collection group
// has at most one TTL field, so the old one goes first.
func (p tables) retarget(ctx context.Context, id, have, want string) error {
	if have != "" {
		if err := p.d.setTTL(ctx, driver.AppTable, fieldName(id, tableCollection(id), have), false); err != nil {
			return err
		}
	}
	if want == "" {
		return nil
	}
	return p.d.setTTL(ctx, driver.AppTable, fieldName(id, tableCollection(id), want), true)
}

type tableSeen struct {
	// ttl is the field of the items' TTL policy, "" for none; colocatedTTL reports the policy on
	// the colocated dedup records' expires_at.
	ttl          string
	colocatedTTL bool
}

// read reads the table's database and its TTL policies (two calls); nil when it is gone.
func (p tables) read(ctx context.Context, id string) (*tableSeen, error) {
	d := p.d
	_, err := d.firestore.GetDatabase(ctx, &adminpb.GetDatabaseRequest{Name: id}, d.retry)
	if found, err := codesOf.Exists(err); !found {
		return nil, fail(driver.AppTable, "reading", id, err)
	}
	t := &tableSeen{}
	it := d.firestore.ListFields(ctx, &adminpb.ListFieldsRequest{Parent: id + "/collectionGroups/-", Filter: "ttlConfig:*"}, d.retry)
	for {
		f, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return t, nil
		}
		if err != nil {
			return nil, fail(driver.AppTable, "reading the TTL policies of", id, err)
		}
		if f.GetTtlConfig().GetState() == adminpb.Field_TtlConfig_NEEDS_REPAIR {
			continue
		}
		switch f.GetName() {
		case fieldName(id, colocated, ttlField):
			t.colocatedTTL = true
		default:
			if strings.HasPrefix(f.GetName(), id+"/collectionGroups/"+tableCollection(id)+"/fields/") {
				t.ttl = lastPart(f.GetName())
			}
		}
	}
}

func (p tables) Read(ctx context.Context, id string) (*driver.ObservedPart[spec.AppTable], error) {
	cur, err := p.read(ctx, id)
	if err != nil || cur == nil {
		return nil, err
	}
	return &driver.ObservedPart[spec.AppTable]{
		Spec: spec.AppTable{Name: lastPart(id), Cloud: Name, Key: spec.DefaultTableKey, TTLAttribute: cur.ttl},
		// Firestore encrypts every database at rest, with a Google-managed key unless CMEK is chosen.
		Encrypted: true, ID: id,
	}, nil
}

// Delete refuses while the table holds items (a query of one document of its collection tells),
// since they go with its database.
func (p tables) Delete(ctx context.Context, id string, force bool) error {
	d := p.d
	if !force {
		held, err := p.holdsItems(ctx, id)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return fail(driver.AppTable, "checking for items in", id, err)
		}
		if held {
			return driver.Errorf(driver.AppTable, "deleting", id, driver.FailedPrecondition, fmt.Errorf(
				"its collection %s holds documents, which would be lost with its database: empty it first, or set force_destroy = true to delete them with it",
				tableCollection(id)))
		}
	}
	return d.deleteDatabase(ctx, driver.AppTable, id)
}

// holdsItems reports whether the table's collection holds a document, from a query of one.
func (p tables) holdsItems(ctx context.Context, id string) (bool, error) {
	var held bool
	err := gax.Invoke(ctx, func(ctx context.Context, _ gax.CallSettings) error {
		stream, err := p.d.documents.RunQuery(ctx, &firestorepb.RunQueryRequest{Parent: id + "/documents",
			QueryType: &firestorepb.RunQueryRequest_StructuredQuery{StructuredQuery: &firestorepb.StructuredQuery{
				From:  []*firestorepb.StructuredQuery_CollectionSelector{{CollectionId: tableCollection(id)}},
				Limit: wrapperspb.Int32(1),
			}}})
		if err != nil {
			return err
		}
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			held = held || resp.GetDocument() != nil
		}
	}, p.d.retry)
	return held, err
}

func (p tables) Locate(ctx context.Context, name string) (string, error) {
	id := p.d.databaseName(name)
	cur, err := p.read(ctx, id)
	switch {
	case err != nil:
		return "", err
	case cur == nil:
		return "", driver.Errorf(driver.AppTable, "finding", name, driver.NotFound, errors.New("no Firestore database of that name in project "+p.d.project))
	}
	return id, nil
}

func (p tables) ImportID(name string) string { return p.d.ImportID(name) }
