package azurefake

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// typeCollections is the path Resource Manager serves a container's usages under, by the
// resource ids (_rid) of its database and container: .../databaseAccounts/<a>/databases/<db
// rid>/collections/<container rid>/usages.
const typeCollections = "Microsoft.DocumentDB/databaseAccounts/databases/collections"

// documentCount is the usage that counts a container's items.
const documentCount = "Document Count"

func init() {
	register(&kind{typ: typeCollections, custom: (*Server).handleCollectionUsages})
}

// rid is a Cosmos DB resource id (_rid) for the database or container id: stable, and a
// container's starts with its database's, as Cosmos DB's do.
func rid(id string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(id)))
	account, rest, _ := strings.Cut(strings.ToLower(id), "/sqldatabases/")
	db := sha256.Sum256([]byte(account + "/sqldatabases/" + strings.Split(rest, "/")[0]))
	b := db[:4]
	if strings.Contains(rest, "/containers/") {
		b = append(b[:4:4], sum[:4]...)
	}
	return strings.ReplaceAll(base64.StdEncoding.EncodeToString(b), "/", "-")
}

// renderRID adds properties.resource._rid, which Cosmos DB reports on databases and containers.
func renderRID(_ *Server, r *resource, out map[string]any) {
	ensureObj(out, "properties", "resource")["_rid"] = rid(r.id)
}

// PutDocument writes an item with id into a container, as a handler would through the data plane
// (which the fake does not serve); a container's items go with it. Its usages count them.
func (s *Server) PutDocument(containerID, id string) error {
	s.lock()
	defer s.mu.Unlock()
	c := s.st.get(containerID)
	if c == nil || !strings.EqualFold(c.typ, typeSQLContainers) {
		return fmt.Errorf("writing item %q: no container %s", id, containerID)
	}
	docs, _ := c.extra["documents"].(map[string]bool)
	if docs == nil {
		docs = map[string]bool{}
		c.extra["documents"] = docs
	}
	docs[id] = true
	return nil
}

// handleCollectionUsages serves GET .../usages of a container found by its database's and its own
// _rid: Storage, Index Size and Document Count, filtered by $filter=name.value eq '<name>'.
func (s *Server) handleCollectionUsages(c *call) *reply {
	if c.r.Method != http.MethodGet || c.p.action != "usages" || len(c.p.names) != 3 {
		return errReply(errf(http.StatusNotFound, "NotFound", "No route for %s %s.", c.r.Method, c.p.raw))
	}
	account := s.cosmosAccount(c.p)
	if account == nil {
		return errReply(notFound(&armPath{ns: c.p.ns, rg: c.p.rg, scope: c.p.scope, types: c.p.types[:1], names: c.p.names[:1]}))
	}
	var container *resource
	prefix := strings.ToLower(account.id) + "/sqldatabases/"
	for key, r := range s.st.res {
		db, _, _ := strings.Cut(r.id[strings.Index(strings.ToLower(r.id), "/sqldatabases/")+1:], "/containers/")
		if strings.HasPrefix(key, prefix) && strings.EqualFold(r.typ, typeSQLContainers) && rid(r.id) == c.p.names[2] &&
			rid(account.id+"/"+db) == c.p.names[1] {
			container = r
		}
	}
	if container == nil {
		return errReply(errf(http.StatusNotFound, "NotFound", "Resource Not Found: no collection %s in database %s.", c.p.names[2], c.p.names[1]))
	}
	docs, _ := container.extra["documents"].(map[string]bool)
	usages := []map[string]any{
		{"name": map[string]any{"value": "Storage", "localizedValue": "Storage"}, "unit": "Bytes", "currentValue": float64(len(docs) * 1024), "limit": float64(-1), "quotaPeriod": "P1D"},
		{"name": map[string]any{"value": "Index Size", "localizedValue": "Index Size"}, "unit": "Bytes", "currentValue": float64(len(docs) * 128), "limit": float64(-1), "quotaPeriod": "P1D"},
		{"name": map[string]any{"value": documentCount, "localizedValue": documentCount}, "unit": "Count", "currentValue": float64(len(docs)), "limit": float64(-1), "quotaPeriod": "P1D"},
	}
	want := ""
	if f := c.r.URL.Query().Get("$filter"); strings.HasPrefix(f, "name.value eq '") {
		want = strings.TrimSuffix(strings.TrimPrefix(f, "name.value eq '"), "'")
	}
	values := []any{}
	for _, u := range usages {
		if want == "" || str(u, "name", "value") == want {
			values = append(values, u)
		}
	}
	return jsonReply(http.StatusOK, map[string]any{"value": values})
}
