package cosmosstore

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

var _ store.TableResolver = (*Store)(nil)

// StateTable implements store.TableResolver. A threefactor_table on Azure is
// a Cosmos DB container of its own (partition key /<key>), granted to the
// handler's identity, which THREEFACTOR_TABLE_<NAME> locates as
// cosmos://<account>.documents.azure.com/<database>/<container>: the name a
// StateWrite's Table takes is that URL. The container is opened on first use
// with the dedup store's credentials, and its partition key path read once.
// There an entity is the item with id EntityID(key) whose key attribute is
// the key (the id itself when the key attribute is id); the store writes its
// version and event beside the state and keeps the item's other fields, ttl
// included, which expires the item when the table has ttl_attribute = "ttl".
//
// ClaimComplete and SingleWrite write there. Commit refuses it: a Cosmos DB
// transactional batch covers one container and one partition key, so the
// dedup record and the state cannot commit together; Transactional keeps
// entity state in the dedup container, under a table name of its own.
func (s *Store) StateTable(u *url.URL) (string, error) {
	if _, _, _, err := ParseURL(u); err != nil {
		return "", fmt.Errorf("table URL %q: want cosmos://<account>.documents.azure.com/<database>/<container>", u.Redacted())
	}
	return u.String(), nil
}

// granted reports whether table names a granted container (StateTable's
// names) rather than a name within the dedup container.
func granted(table string) bool { return strings.HasPrefix(table, "cosmos://") }

// place is where an entity's item lives: its container, partition key value
// and id, and keyField, the partition key attribute of a granted table (""
// in the dedup container, whose items carry pk and ttl).
type place struct {
	c        *azcosmos.ContainerClient
	pk, id   string
	keyField string
}

// owns reports whether the store writes the field name at p itself.
func (p *place) owns(name string) bool {
	if strings.HasPrefix(name, "_") || name == FieldID {
		return true
	}
	if p.keyField == "" {
		return name == FieldPK || name == FieldTTL
	}
	return name == p.keyField
}

// fields are the fields the store writes at p, for errors.
func (p *place) fields() []string {
	if p.keyField == "" {
		return []string{FieldID, FieldPK, FieldTTL}
	}
	if p.keyField == FieldID {
		return []string{FieldID}
	}
	return []string{FieldID, p.keyField}
}

// placeOf is where the entity key of table lives.
func (s *Store) placeOf(ctx context.Context, table, key string) (*place, error) {
	if !granted(table) {
		return &place{c: s.c, pk: EntityPK(table, key), id: EntityID(key)}, nil
	}
	t, err := s.grantedTable(ctx, table)
	if err != nil {
		return nil, err
	}
	at := &place{c: t.c, pk: key, id: EntityID(key), keyField: t.keyField}
	if t.keyField == FieldID {
		at.pk = at.id
	}
	return at, nil
}

// grantedTable opens the container of a granted table once.
func (s *Store) grantedTable(ctx context.Context, table string) (*place, error) {
	s.mu.Lock()
	t := s.tables[table]
	s.mu.Unlock()
	if t != nil {
		return t, nil
	}
	u, err := url.Parse(table)
	if err != nil {
		return nil, fmt.Errorf("table %q: %w", table, err)
	}
	endpoint, database, container, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	if s.opts.OpenClient == nil {
		return nil, fmt.Errorf("table %s: the store was made without Options.OpenClient, so it reaches only its dedup container", table)
	}
	client, err := s.opts.OpenClient(endpoint)
	if err != nil {
		return nil, err
	}
	c, err := client.NewContainer(database, container)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", table, err)
	}
	resp, err := c.Read(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the partition key of table %s (the handler's identity needs the table granted through function.tables): %w", table, err)
	}
	paths := resp.ContainerProperties.PartitionKeyDefinition.Paths
	if len(paths) != 1 || strings.Count(paths[0], "/") != 1 {
		return nil, fmt.Errorf("table %s: partition key %v is not one top-level attribute, as a threefactor_table's is", table, paths)
	}
	t = &place{c: c, keyField: strings.TrimPrefix(paths[0], "/")}
	s.mu.Lock()
	if s.tables == nil {
		s.tables = map[string]*place{}
	}
	s.tables[table] = t
	s.mu.Unlock()
	return t, nil
}
