package azurefunctions

import (
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// tableRoles are the built-in Cosmos DB data-plane roles of each access level, assigned at the
// container's scope. Data Reader: readMetadata, items/read, executeQuery, readChangeFeed; Data
// Contributor: readMetadata, containers/* and items/* (point writes, patches and transactional
// batches, which the runtime library's state writes use).
var tableRoles = map[spec.Access]string{spec.Read: cosmosDataReader, spec.ReadWrite: cosmosDataContributor}

// tableGrant is one function.tables entry as applied: the container and the SQL role assignment
// on it, kept in state under keyTableGrants (JSON of a map from the grant's name).
type tableGrant struct {
	Table      string `json:"table"`
	Assignment string `json:"assignment"`
}

func tableGrantsOf(st string) map[string]tableGrant {
	var gs map[string]tableGrant
	_ = json.Unmarshal([]byte(st), &gs)
	return gs
}

func encodeGrants(gs map[string]tableGrant) string {
	if len(gs) == 0 {
		return ""
	}
	b, _ := json.Marshal(gs)
	return string(b)
}

// grantAssignment is the id of the SQL role assignment of grant g to principal.
func grantAssignment(g spec.TableGrant, principal string) (string, error) {
	_, account, database, container, err := containerOf(g.TableID)
	if err != nil {
		return "", err
	}
	return sqlAssignmentID(account, containerScope(account, database, container), principal, tableRoles[g.Access]), nil
}

// accessOf is the access level an existing assignment of the grant gives principal, by the name
// the assignment's role derives.
func accessOf(g tableGrant, principal string) spec.Access {
	for access := range tableRoles {
		if id, err := grantAssignment(spec.TableGrant{TableID: g.Table, Access: access}, principal); err == nil && id == g.Assignment {
			return access
		}
	}
	return ""
}

// tableURLs are the THREEFACTOR_TABLE_<NAME> values: each granted container's store URL.
func tableURLs(tables map[string]spec.TableGrant) map[string]string {
	out := map[string]string{}
	for name, g := range tables {
		if _, account, database, container, err := containerOf(g.TableID); err == nil {
			out[name] = dedupStoreURL(lastPart(account), database, container)
		}
	}
	return out
}

// applyTableGrants assigns each granted container's role to the identity and deletes the
// assignments of grants gone or changed, recording in the ledger every assignment that exists.
func (d *Driver) applyTableGrants(ctx context.Context, l *plumbing.Ledger, cur *seen, want map[string]spec.TableGrant, principal string) error {
	have := tableGrantsOf(l.Get(keyTableGrants))
	next := map[string]tableGrant{}
	var stale []string
	for name, g := range have {
		if w, ok := want[name]; ok {
			if id, err := grantAssignment(w, principal); err == nil && id == g.Assignment && cur.tableGrants[name] {
				next[name] = g
				continue
			}
		}
		stale = append(stale, g.Assignment)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, done := next[name]; done {
			continue
		}
		g := want[name]
		_, account, database, container, err := containerOf(g.TableID)
		if err != nil {
			return driver.Errorf(driver.Function, "granting", g.TableID, driver.InvalidArgument, err)
		}
		id, err := d.assignSQL(ctx, driver.Function, account, containerScope(account, database, container), principal, tableRoles[g.Access])
		if exists(err) {
			next[name] = tableGrant{Table: g.TableID, Assignment: id}
			l.Set(keyTableGrants, encodeGrants(merge(have, next)))
		}
		if err != nil {
			return err
		}
	}
	for _, id := range stale {
		if !slices.ContainsFunc(slices.Collect(maps.Values(next)), func(g tableGrant) bool { return g.Assignment == id }) {
			if err := d.deleteSQLAssignment(ctx, driver.Function, id); err != nil {
				return err
			}
		}
	}
	l.Set(keyTableGrants, encodeGrants(next))
	return nil
}

// replacedSuffix marks, in state, an assignment a changed grant replaced and an interrupted apply
// left: the function shows drifted until an apply deletes it.
const replacedSuffix = "~replaced"

// merge is a over b: what the ledger records while grants are being made (the stale ones still exist).
func merge(b, a map[string]tableGrant) map[string]tableGrant {
	out := maps.Clone(b)
	if out == nil {
		out = map[string]tableGrant{}
	}
	for k, v := range a {
		if old, ok := out[k]; ok && old.Assignment != v.Assignment {
			out[k+replacedSuffix] = old // the replaced assignment, deleted next
		}
		out[k] = v
	}
	return out
}

// deleteTableGrants deletes every table grant st records.
func (d *Driver) deleteTableGrants(ctx context.Context, st driver.State) error {
	var fs []func() error
	for _, g := range tableGrantsOf(st[keyTableGrants]) {
		fs = append(fs, func() error { return d.deleteSQLAssignment(ctx, driver.Function, g.Assignment) })
	}
	return plumbing.Concurrently(fs...)
}
