package gcpfake

import (
	"context"
	"fmt"
	"sort"
	"strings"

	fsadminpb "cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

type firestoreAdminService struct {
	fsadminpb.UnimplementedFirestoreAdminServer
	s *Server
}

// databaseName canonicalizes projects/<p>/databases/<d>.
func (s *Server) databaseName(name string) (string, error) {
	parts, ok := splitName(name, "projects/*/databases/*")
	if !ok {
		return "", badName("database", name, "projects/{PROJECT}/databases/{DATABASE}")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return "", err
	}
	return fmt.Sprintf("projects/%s/databases/%s", s.opts.Project, parts[1]), nil
}

func notFoundDatabase(name string) error {
	return status.Errorf(codes.NotFound, "The database %s does not exist.", name)
}

func (f firestoreAdminService) CreateDatabase(_ context.Context, req *fsadminpb.CreateDatabaseRequest) (*longrunningpb.Operation, error) {
	s := f.s
	parts, ok := splitName(req.GetParent(), "projects/*")
	if !ok {
		return nil, badName("parent", req.GetParent(), "projects/{PROJECT}")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return nil, err
	}
	if err := checkDatabaseID(req.GetDatabaseId()); err != nil {
		return nil, err
	}
	in := req.GetDatabase()
	if in.GetLocationId() == "" {
		return nil, invalid("database.location_id is required.")
	}
	if in.GetType() == fsadminpb.Database_DATABASE_TYPE_UNSPECIFIED {
		return nil, invalid("database.type is required: FIRESTORE_NATIVE or DATASTORE_MODE.")
	}
	s.lock()
	defer s.mu.Unlock()
	name := fmt.Sprintf("projects/%s/databases/%s", s.opts.Project, req.GetDatabaseId())
	if _, exists := s.st.databases[name]; exists {
		return nil, status.Errorf(codes.AlreadyExists, "Database '%s' already exists for project %s. Please use another database_id", req.GetDatabaseId(), s.opts.Project)
	}
	db := clone(in)
	db.Name, db.Uid, db.CreateTime, db.UpdateTime = name, fmt.Sprintf("fake-%08d-uid", s.next()), nowpb(), nowpb()
	db.Etag = fmt.Sprintf("etag-%d", s.next())
	if db.ConcurrencyMode == fsadminpb.Database_CONCURRENCY_MODE_UNSPECIFIED {
		db.ConcurrencyMode = fsadminpb.Database_PESSIMISTIC
	}
	if db.DeleteProtectionState == fsadminpb.Database_DELETE_PROTECTION_STATE_UNSPECIFIED {
		db.DeleteProtectionState = fsadminpb.Database_DELETE_PROTECTION_DISABLED
	}
	if db.DatabaseEdition == fsadminpb.Database_DATABASE_EDITION_UNSPECIFIED {
		db.DatabaseEdition = fsadminpb.Database_STANDARD
	}
	s.st.databases[name] = db
	return s.startOp(fmt.Sprintf("projects/%s/databases/%s/operations/create-%d", s.opts.Project, req.GetDatabaseId(), s.next()),
		&fsadminpb.CreateDatabaseMetadata{}, func() (proto.Message, error) {
			if cur, ok := s.st.databases[name]; ok {
				return proto.Clone(cur), nil
			}
			return proto.Clone(db), nil
		})
}

func (f firestoreAdminService) GetDatabase(_ context.Context, req *fsadminpb.GetDatabaseRequest) (*fsadminpb.Database, error) {
	s := f.s
	name, err := s.databaseName(req.GetName())
	if err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	db, ok := s.st.databases[name]
	if !ok {
		return nil, notFoundDatabase(req.GetName())
	}
	return clone(db), nil
}

func (f firestoreAdminService) ListDatabases(_ context.Context, req *fsadminpb.ListDatabasesRequest) (*fsadminpb.ListDatabasesResponse, error) {
	s := f.s
	parts, ok := splitName(req.GetParent(), "projects/*")
	if !ok {
		return nil, badName("parent", req.GetParent(), "projects/{PROJECT}")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.st.databases {
		names = append(names, n)
	}
	sort.Strings(names)
	resp := &fsadminpb.ListDatabasesResponse{}
	for _, n := range names {
		resp.Databases = append(resp.Databases, clone(s.st.databases[n]))
	}
	return resp, nil
}

func (f firestoreAdminService) DeleteDatabase(_ context.Context, req *fsadminpb.DeleteDatabaseRequest) (*longrunningpb.Operation, error) {
	s := f.s
	name, err := s.databaseName(req.GetName())
	if err != nil {
		return nil, err
	}
	op, err := s.deleteDatabase(name, req)
	if err == nil && s.opts.DatabaseDeleted != nil {
		s.opts.DatabaseDeleted(name)
	}
	return op, err
}

func (s *Server) deleteDatabase(name string, req *fsadminpb.DeleteDatabaseRequest) (*longrunningpb.Operation, error) {
	s.lock()
	defer s.mu.Unlock()
	db, ok := s.st.databases[name]
	if !ok {
		return nil, notFoundDatabase(req.GetName())
	}
	if req.GetEtag() != "" && req.GetEtag() != db.Etag {
		return nil, status.Errorf(codes.Aborted, "The etag %q does not match the database's current etag.", req.GetEtag())
	}
	if db.DeleteProtectionState == fsadminpb.Database_DELETE_PROTECTION_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "Database %s has delete protection enabled: disable it first.", name)
	}
	delete(s.st.databases, name)
	for n := range s.st.fields {
		if strings.HasPrefix(n, name+"/") {
			delete(s.st.fields, n)
		}
	}
	gone := clone(db)
	gone.DeleteTime = nowpb()
	return s.startOp(fmt.Sprintf("%s/operations/delete-%d", name, s.next()), &fsadminpb.DeleteDatabaseMetadata{},
		func() (proto.Message, error) { return gone, nil })
}

// fieldName canonicalizes projects/<p>/databases/<d>/collectionGroups/<c>/fields/<f> and returns
// the database's name and the collection group.
func (s *Server) fieldName(name string) (canon, db, group, fieldPath string, err error) {
	parts, ok := splitName(name, "projects/*/databases/*/collectionGroups/*/fields/*")
	if !ok {
		return "", "", "", "", badName("field", name, "projects/{PROJECT}/databases/{DATABASE}/collectionGroups/{COLLECTION}/fields/{FIELD}")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return "", "", "", "", err
	}
	db = fmt.Sprintf("projects/%s/databases/%s", s.opts.Project, parts[1])
	return fmt.Sprintf("%s/collectionGroups/%s/fields/%s", db, parts[2], parts[3]), db, parts[2], parts[3], nil
}

func (f firestoreAdminService) GetField(_ context.Context, req *fsadminpb.GetFieldRequest) (*fsadminpb.Field, error) {
	s := f.s
	name, db, _, _, err := s.fieldName(req.GetName())
	if err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	if _, ok := s.st.databases[db]; !ok {
		return nil, notFoundDatabase(db)
	}
	if fl, ok := s.st.fields[name]; ok {
		return clone(fl), nil
	}
	return &fsadminpb.Field{Name: name, IndexConfig: &fsadminpb.Field_IndexConfig{
		UsesAncestorConfig: true, AncestorField: db + "/collectionGroups/__default__/fields/*",
	}}, nil
}

func (f firestoreAdminService) UpdateField(_ context.Context, req *fsadminpb.UpdateFieldRequest) (*longrunningpb.Operation, error) {
	s := f.s
	if req.GetField() == nil {
		return nil, invalid("field is required.")
	}
	name, db, group, fieldPath, err := s.fieldName(req.GetField().GetName())
	if err != nil {
		return nil, err
	}
	if group == "-" || group == "" {
		return nil, invalid("A collection group is required.")
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		paths = []string{"index_config", "ttl_config"}
	}
	s.lock()
	defer s.mu.Unlock()
	if _, ok := s.st.databases[db]; !ok {
		return nil, notFoundDatabase(db)
	}
	cur, exists := s.st.fields[name]
	next := &fsadminpb.Field{Name: name}
	if exists {
		next = clone(cur)
	}
	var delta *fsadminpb.FieldOperationMetadata_TtlConfigDelta
	for _, p := range paths {
		switch p {
		case "ttl_config", "ttlConfig":
			want := req.GetField().GetTtlConfig()
			switch {
			case want != nil && next.TtlConfig == nil:
				if fieldPath == "*" {
					return nil, invalid("A TTL policy cannot be set on the default field (*).")
				}
				for other, fl := range s.st.fields {
					if other != name && fl.TtlConfig != nil && strings.HasPrefix(other, db+"/collectionGroups/"+group+"/fields/") {
						return nil, status.Errorf(codes.FailedPrecondition, "Collection group %s already has a TTL field (%s): only one field per collection group can be the TTL field.", group, other)
					}
				}
				next.TtlConfig = &fsadminpb.Field_TtlConfig{State: fsadminpb.Field_TtlConfig_CREATING, ExpirationOffset: want.GetExpirationOffset()}
				delta = &fsadminpb.FieldOperationMetadata_TtlConfigDelta{ChangeType: fsadminpb.FieldOperationMetadata_TtlConfigDelta_ADD}
			case want == nil && next.TtlConfig != nil:
				next.TtlConfig = nil
				delta = &fsadminpb.FieldOperationMetadata_TtlConfigDelta{ChangeType: fsadminpb.FieldOperationMetadata_TtlConfigDelta_REMOVE}
			}
		case "index_config", "indexConfig":
			next.IndexConfig = clone(req.GetField().GetIndexConfig())
		default:
			return nil, invalid("Invalid update_mask path %q: want ttl_config or index_config.", p)
		}
	}
	if next.GetIndexConfig() != nil && len(next.GetIndexConfig().GetIndexes()) == 0 && next.GetIndexConfig().GetUsesAncestorConfig() {
		next.IndexConfig = nil
	}
	if !exists && (next.TtlConfig != nil || next.IndexConfig != nil) && s.fieldConfigs(db) >= s.opts.MaxFieldConfigs {
		return nil, status.Errorf(codes.ResourceExhausted, "Database %s already has %d field configurations, the maximum.", db, s.opts.MaxFieldConfigs)
	}
	if next.TtlConfig == nil && next.IndexConfig == nil {
		delete(s.st.fields, name)
	} else {
		s.st.fields[name] = next
	}
	meta := &fsadminpb.FieldOperationMetadata{StartTime: nowpb(), Field: name, State: fsadminpb.OperationState_PROCESSING, TtlConfigDelta: delta}
	return s.startOp(fmt.Sprintf("%s/operations/field-%d", db, s.next()), meta, func() (proto.Message, error) {
		meta.State, meta.EndTime = fsadminpb.OperationState_SUCCESSFUL, nowpb()
		fl, ok := s.st.fields[name]
		if !ok {
			return &fsadminpb.Field{Name: name}, nil
		}
		if fl.TtlConfig != nil && fl.TtlConfig.State == fsadminpb.Field_TtlConfig_CREATING {
			fl.TtlConfig.State = fsadminpb.Field_TtlConfig_ACTIVE
		}
		return proto.Clone(fl), nil
	})
}

func (s *Server) fieldConfigs(db string) int {
	n := 0
	for name := range s.st.fields {
		if strings.HasPrefix(name, db+"/") {
			n++
		}
	}
	return n
}

// ListFields lists explicitly configured fields; as on Google, the filter must ask for them
// ("ttlConfig:*" or "indexConfig.usesAncestorConfig:false"). The collection group may be "-".
func (f firestoreAdminService) ListFields(_ context.Context, req *fsadminpb.ListFieldsRequest) (*fsadminpb.ListFieldsResponse, error) {
	s := f.s
	parts, ok := splitName(req.GetParent(), "projects/*/databases/*/collectionGroups/*")
	if !ok {
		return nil, badName("parent", req.GetParent(), "projects/{PROJECT}/databases/{DATABASE}/collectionGroups/{COLLECTION}")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return nil, err
	}
	ttlOnly := strings.Contains(req.GetFilter(), "ttlConfig:*")
	if !ttlOnly && !strings.Contains(strings.ReplaceAll(req.GetFilter(), " ", ""), "indexConfig.usesAncestorConfig:false") {
		return nil, invalid("ListFields supports only the filters ttlConfig:* and indexConfig.usesAncestorConfig:false, got %q.", req.GetFilter())
	}
	db := fmt.Sprintf("projects/%s/databases/%s", s.opts.Project, parts[1])
	prefix := db + "/collectionGroups/" + parts[2] + "/fields/"
	s.lock()
	defer s.mu.Unlock()
	if _, ok := s.st.databases[db]; !ok {
		return nil, notFoundDatabase(db)
	}
	var names []string
	for n, fl := range s.st.fields {
		if (strings.HasPrefix(n, prefix) || (parts[2] == "-" && strings.HasPrefix(n, db+"/"))) && (!ttlOnly || fl.TtlConfig != nil) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	names, next, err := page(names, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &fsadminpb.ListFieldsResponse{NextPageToken: next}
	for _, n := range names {
		resp.Fields = append(resp.Fields, clone(s.st.fields[n]))
	}
	return resp, nil
}

// Databases returns copies of every Firestore database, sorted by name.
func (s *Server) Databases() []*fsadminpb.Database {
	s.lock()
	defer s.mu.Unlock()
	var out []*fsadminpb.Database
	for _, db := range s.st.databases {
		out = append(out, clone(db))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TTLFields returns the names of the fields with a TTL policy and its state, sorted by name.
func (s *Server) TTLFields() map[string]fsadminpb.Field_TtlConfig_State {
	s.lock()
	defer s.mu.Unlock()
	out := map[string]fsadminpb.Field_TtlConfig_State{}
	for n, fl := range s.st.fields {
		if fl.TtlConfig != nil {
			out[n] = fl.TtlConfig.State
		}
	}
	return out
}
