// Package firestorestore keeps dedup records and entity state in Firestore
// (native mode).
//
// The dedup collection is the one threefactor_eventhandler provisions, in a
// Firestore database of the handler's own (never (default)), with a TTL
// policy on the Timestamp field expires_at. A record is a document whose id
// is the dedup key, path-escaped (or its SHA-256 when too long for an id):
//
//	key               the dedup key (handler/ce/<source>/<id>)
//	status            IN_PROGRESS or COMPLETED
//	token             the claiming delivery's random token
//	expires_at        Timestamp; Firestore's TTL deletes the document some time later
//	claim_expires_at  Timestamp at which an IN_PROGRESS claim lapses
//	payload_hash      SHA-256 of the payload, hex
//	result            the handler's stored result (bytes), optional
//
// Firestore's TTL deletion runs typically within 24 hours of expires_at,
// with no bound, so every read compares expires_at and claim_expires_at with
// the caller's clock: an expired record that TTL has not yet deleted is
// treated as absent. Timestamps are kept to the microsecond, rounded up, so
// a record never ends before its TTL or its claim.
//
// A claim is one conditional create (Create, refused with AlreadyExists when
// the document exists); only when the key is taken does a transaction read
// the holder and overwrite it if it has expired or its claim has lapsed.
// Completion, release, the version guard and Commit are transactions: a
// transaction reads the documents it guards, and Firestore fails it (and the
// client retries it) when another writer changes them before it commits.
//
// Reads and writes per event, from the code (Firestore has no conditional
// write on a field's value, so a guard reads in its transaction):
//
//	mode            first delivery                          duplicate
//	ClaimComplete   1 create, 2 transactions of 1 read      1 refused create, 1 read
//	                and 1 write (state, completion)
//	Transactional   1 transaction of 2 reads and 2 writes   2 reads, no write
//	SingleWrite     1 transaction of 1 read and 1 write     1 read, no write
//
// State collections are the user's. A state table (StateWrite.Table) is a
// collection path in the dedup collection's database, or the full path of a
// collection in another database,
// projects/<project>/databases/<database>/documents/<collection> (a
// threefactor_table, which on Google is a database of its own, or the user's
// (default) database), whose client the store opens on first use
// (Options.OpenDatabase). A transaction spans one database, and
// Transactional mode writes the record and the state in one: when the state
// is in another database, the event's record is kept beside it, in that
// database's collection ColocatedCollection (where the handler's grant on
// the table reaches, and the provider puts a TTL policy on expires_at). A
// handler uses one mode: Transactional finds an event's record in the
// database of its state write. The entity's document id is its
// key (see EntityDocID for keys that are no valid id), and the store writes the state's fields, version (an integer, or a
// string for lexicographic versions) and version_event (the identity of the
// event that wrote that version), merging them into the document, so the
// fields other code keeps there stay. A refused write is classified from the
// document the transaction read (store.Classify), never assumed stale.
//
// The package registers the URL scheme "firestore", as the provider injects it:
//
//	firestore://projects/<project>/databases/<database>/documents/<collection>
//
// Credentials are Application Default Credentials (the function's service
// account on Cloud Run functions); with FIRESTORE_EMULATOR_HOST set the
// client talks to that emulator instead, without credentials.
package firestorestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

func init() {
	store.Register("firestore", func(ctx context.Context, u *url.URL) (store.Store, error) { return OpenURL(ctx, u) })
}

// ColocatedCollection is the collection of Transactional mode's dedup
// records in a state table's database other than the dedup store's.
const ColocatedCollection = "threefactor_dedup"

// Field names of a dedup record.
const (
	FieldKey            = "key"
	FieldStatus         = "status"
	FieldToken          = "token"
	FieldExpiresAt      = "expires_at"
	FieldClaimExpiresAt = "claim_expires_at"
	FieldPayloadHash    = "payload_hash"
	FieldResult         = "result"
)

// Options configure a Store.
type Options struct {
	// Collection is the dedup collection's path in the client's database,
	// e.g. "dedup".
	Collection string
	// StateVersionField holds an entity's version: "version" when empty.
	StateVersionField string
	// StateEventField holds the identity of the event that wrote the
	// version: "version_event" when empty.
	StateEventField string
	// OpenDatabase opens a client of another database, for state tables
	// named by their full path (projects/<p>/databases/<db>/documents/<c>):
	// firestore.NewClientWithDatabase with Application Default Credentials
	// (or FIRESTORE_EMULATOR_HOST) when nil. The store closes what it opens.
	OpenDatabase func(ctx context.Context, project, database string) (*firestore.Client, error)
}

// Store is a store.Store on Firestore.
type Store struct {
	client *firestore.Client
	dedup  *firestore.CollectionRef
	// docs is the client's database's document root,
	// projects/<p>/databases/<db>/documents/.
	docs string
	opts Options
	// owned: the store made the client and closes it.
	owned bool

	mu sync.Mutex
	// others are the clients of other databases that hold state tables,
	// by projects/<p>/databases/<db>.
	others map[string]*firestore.Client
}

var _ store.Store = (*Store)(nil)

// New returns a Store that uses client, whose database holds the dedup
// collection and, unless a state table names another database by its full
// path, the state collections.
func New(client *firestore.Client, opts Options) (*Store, error) {
	if opts.StateVersionField == "" {
		opts.StateVersionField = "version"
	}
	if opts.StateEventField == "" {
		opts.StateEventField = "version_event"
	}
	if opts.OpenDatabase == nil {
		opts.OpenDatabase = func(ctx context.Context, project, database string) (*firestore.Client, error) {
			return firestore.NewClientWithDatabase(ctx, project, database)
		}
	}
	dedup := client.Collection(opts.Collection)
	if dedup == nil {
		return nil, fmt.Errorf("dedup collection %q is not a collection path (an odd number of segments)", opts.Collection)
	}
	i := strings.Index(dedup.Path, "/documents/")
	if i < 0 {
		return nil, fmt.Errorf("dedup collection path %q has no /documents/", dedup.Path)
	}
	return &Store{client: client, dedup: dedup, docs: dedup.Path[:i+len("/documents/")], opts: opts, others: map[string]*firestore.Client{}}, nil
}

// ParseURL splits firestore://projects/<project>/databases/<database>/documents/<collection>
// into its project, database and collection path.
func ParseURL(u *url.URL) (project, database, collection string, err error) {
	path := strings.Trim(u.Host+u.Path, "/")
	if u.Opaque != "" {
		path = strings.Trim(u.Opaque, "/")
	}
	project, database, collection, ok := splitPath(path)
	if u.Scheme != "firestore" || !ok {
		return "", "", "", fmt.Errorf("dedup store URL %q: want firestore://projects/<project>/databases/<database>/documents/<collection>", u.Redacted())
	}
	return project, database, collection, nil
}

// splitPath splits projects/<project>/databases/<database>/documents/<collection>.
func splitPath(path string) (project, database, collection string, ok bool) {
	seg := strings.Split(path, "/")
	if len(seg) < 6 || len(seg)%2 != 0 || seg[0] != "projects" || seg[2] != "databases" || seg[4] != "documents" || slices.Contains(seg, "") {
		return "", "", "", false
	}
	return seg[1], seg[3], strings.Join(seg[5:], "/"), true
}

// stateCollection resolves a state table: a collection path in the store's
// database, or the full path of a collection in any database
// (projects/<p>/databases/<db>/documents/<collection>), whose client it
// opens on first use.
func (s *Store) stateCollection(ctx context.Context, table string) (*firestore.Client, *firestore.CollectionRef, error) {
	client, path := s.client, table
	if strings.HasPrefix(table, "projects/") {
		project, database, collection, ok := splitPath(table)
		if !ok {
			return nil, nil, fmt.Errorf("state table %q: want a collection path, or projects/<project>/databases/<database>/documents/<collection>", table)
		}
		path = collection
		if !strings.HasPrefix(table, s.docs) {
			var err error
			if client, err = s.otherDatabase(ctx, project, database); err != nil {
				return nil, nil, err
			}
		}
	}
	coll := client.Collection(path)
	if coll == nil {
		return nil, nil, fmt.Errorf("state table %q is not a collection path (an odd number of segments)", table)
	}
	return client, coll, nil
}

func (s *Store) otherDatabase(ctx context.Context, project, database string) (*firestore.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := "projects/" + project + "/databases/" + database
	if c := s.others[name]; c != nil {
		return c, nil
	}
	c, err := s.opts.OpenDatabase(ctx, project, database)
	if err != nil {
		return nil, fmt.Errorf("opening Firestore database %s for state: %w", name, err)
	}
	s.others[name] = c
	return c, nil
}

// OpenURL opens firestore://projects/<project>/databases/<database>/documents/<collection>
// with Application Default Credentials, or the emulator that
// FIRESTORE_EMULATOR_HOST names. opts adjust the client.
func OpenURL(ctx context.Context, u *url.URL, opts ...option.ClientOption) (*Store, error) {
	project, database, collection, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	client, err := firestore.NewClientWithDatabase(ctx, project, database, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening Firestore database %s of project %s for the dedup store: %w", database, project, err)
	}
	s, err := New(client, Options{Collection: collection})
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

var _ store.TableResolver = (*Store)(nil)

// StateTable implements store.TableResolver: a granted table's collection by its full path,
// projects/<project>/databases/<database>/documents/<collection>. Any database will do: in
// Transactional mode the event's record is kept beside the state (ColocatedCollection).
func (s *Store) StateTable(u *url.URL) (string, error) {
	project, database, collection, err := ParseURL(u)
	if err != nil {
		return "", fmt.Errorf("table URL %q: want firestore://projects/<project>/databases/<database>/documents/<collection>", u.Redacted())
	}
	return "projects/" + project + "/databases/" + database + "/documents/" + collection, nil
}

// Client returns the store's Firestore client.
func (s *Store) Client() *firestore.Client { return s.client }

// reservedID matches document ids Firestore refuses.
var reservedID = regexp.MustCompile(`^__.*__$`)

// DocID is the id of key's dedup record: key path-escaped (so that its
// slashes do not make a path), or "sha256-" and its hash when the escaped key
// is not a valid document id (longer than 1,500 bytes, or reserved).
func DocID(key string) string {
	id := url.PathEscape(key)
	if len(id) > 1500 || id == "." || id == ".." || reservedID.MatchString(id) {
		sum := sha256.Sum256([]byte(key))
		return "sha256-" + hex.EncodeToString(sum[:])
	}
	return id
}

// EntityDocID is the document id of the entity key: the key itself when it
// is a valid document id, as other code writing the collection would use it,
// else (a slash, a reserved or over-long id) the key path-escaped, or its
// hash as DocID makes it. Other code addressing such an entity must use
// EntityDocID too.
func EntityDocID(key string) string {
	if key != "" && key != "." && key != ".." && len(key) <= 1500 && !strings.Contains(key, "/") && !reservedID.MatchString(key) {
		return key
	}
	return DocID(key)
}

func (s *Store) doc(key string) *firestore.DocumentRef { return s.dedup.Doc(DocID(key)) }

// Claim implements store.Store: a conditional create, and, when the key is
// taken, a transaction that overwrites an expired or lapsed record or returns
// the live one.
func (s *Store) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	return s.claim(ctx, rec, now)
}

func (s *Store) claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	ref := s.doc(rec.Key)
	_, err := ref.Create(ctx, recordData(rec))
	if status.Code(err) != codes.AlreadyExists {
		return nil, err
	}
	var holder *store.Record
	err = s.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		holder = nil
		snap, err := tx.Get(ref)
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
		if snap.Exists() {
			if holder, err = decodeRecord(snap); err != nil {
				return err
			}
			if holder.Live(now) {
				return store.ErrHeld
			}
		}
		return tx.Set(ref, recordData(rec))
	})
	if errors.Is(err, store.ErrHeld) {
		return holder, store.ErrHeld
	}
	return nil, err
}

// Complete implements store.Store with a transaction that checks the token.
func (s *Store) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	ref := s.doc(key)
	return s.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		if err := holds(tx, ref, token); err != nil {
			return err
		}
		ups := []firestore.Update{
			{Path: FieldStatus, Value: string(store.Completed)},
			{Path: FieldExpiresAt, Value: ceilMicro(expiresAt)},
			{Path: FieldClaimExpiresAt, Value: firestore.Delete},
		}
		if result != nil {
			ups = append(ups, firestore.Update{Path: FieldResult, Value: result})
		}
		return tx.Update(ref, ups)
	})
}

// Release implements store.Store with a transaction that checks the token.
func (s *Store) Release(ctx context.Context, key, token string) error {
	ref := s.doc(key)
	return s.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		if err := holds(tx, ref, token); err != nil {
			return err
		}
		return tx.Delete(ref)
	})
}

// holds returns ErrClaimLost unless the record exists with token.
func holds(tx *firestore.Transaction, ref *firestore.DocumentRef, token string) error {
	snap, err := tx.Get(ref)
	if status.Code(err) == codes.NotFound {
		return store.ErrClaimLost
	}
	if err != nil {
		return err
	}
	if t, _ := snap.Data()[FieldToken].(string); t != token {
		return store.ErrClaimLost
	}
	return nil
}

// Get implements store.Store with one read; expiry is checked here.
func (s *Store) Get(ctx context.Context, key string, now time.Time) (*store.Record, error) {
	snap, err := s.doc(key).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	rec, err := decodeRecord(snap)
	if err != nil {
		return nil, err
	}
	if !now.Before(rec.Expiry()) {
		return nil, store.ErrNotFound
	}
	return rec, nil
}

// PutState implements store.Store with a transaction that reads the entity,
// applies the version guard and merges the state into it.
func (s *Store) PutState(ctx context.Context, w store.StateWrite) error {
	return s.putState(ctx, w, false)
}

// PutStateOnce implements store.Store like PutState, applying only a newer
// version: one read and one write, the refusal classified from that read.
func (s *Store) PutStateOnce(ctx context.Context, w store.StateWrite) error {
	return s.putState(ctx, w, true)
}

func (s *Store) putState(ctx context.Context, w store.StateWrite, once bool) error {
	client, ref, data, merge, err := s.stateWrite(ctx, w)
	if err != nil {
		return err
	}
	return client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
		if err := s.guard(w, snap, once); err != nil {
			return err
		}
		return tx.Set(ref, data, merge)
	})
}

// guard is the version guard on the entity as read: nil when w may be
// written, else the classified refusal.
func (s *Store) guard(w store.StateWrite, snap *firestore.DocumentSnapshot, once bool) error {
	var stored any
	var event string
	if snap.Exists() {
		data := snap.Data()
		stored = data[s.opts.StateVersionField]
		event, _ = data[s.opts.StateEventField].(string)
	}
	c, err := store.Compare(stored, w)
	if err != nil {
		return err
	}
	if c < 0 || (c == 0 && !once && store.ReappliesEqual(w, event)) {
		return nil
	}
	return store.Classify(w, stored, event, once)
}

// stateWrite is the entity's document and the merge that sets w's fields,
// version and event, and nothing else.
func (s *Store) stateWrite(ctx context.Context, w store.StateWrite) (*firestore.Client, *firestore.DocumentRef, map[string]any, firestore.SetOption, error) {
	if w.Key == "" {
		return nil, nil, nil, nil, errors.New("state write without an entity key")
	}
	data := make(map[string]any, len(w.Attributes)+2)
	paths := make([]firestore.FieldPath, 0, len(w.Attributes)+2)
	for _, name := range slices.Sorted(maps.Keys(w.Attributes)) {
		if name == s.opts.StateVersionField || name == s.opts.StateEventField {
			return nil, nil, nil, nil, fmt.Errorf("state of %s: attribute %q is the entity's version or event, which the store writes", w.Key, name)
		}
		data[name] = w.Attributes[name]
		paths = append(paths, firestore.FieldPath{name})
	}
	if w.Sequence != "" {
		data[s.opts.StateVersionField] = w.Sequence
	} else {
		data[s.opts.StateVersionField] = w.Version
	}
	data[s.opts.StateEventField] = w.Event
	if w.Event == "" {
		data[s.opts.StateEventField] = firestore.Delete
	}
	paths = append(paths, firestore.FieldPath{s.opts.StateVersionField}, firestore.FieldPath{s.opts.StateEventField})
	client, coll, err := s.stateCollection(ctx, w.Table)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return client, coll.Doc(EntityDocID(w.Key)), data, firestore.Merge(paths...), nil
}

// GetState implements store.Store with one read.
func (s *Store) GetState(ctx context.Context, table, key string) (*store.State, error) {
	if key == "" {
		return nil, errors.New("state of an empty entity key")
	}
	_, coll, err := s.stateCollection(ctx, table)
	if err != nil {
		return nil, err
	}
	snap, err := coll.Doc(EntityDocID(key)).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	data := snap.Data()
	st := &store.State{Key: key}
	st.Event, _ = data[s.opts.StateEventField].(string)
	switch v := data[s.opts.StateVersionField].(type) {
	case nil:
	case int64:
		st.Version = v
	case string:
		st.Sequence = v
	default:
		return nil, fmt.Errorf("state of %s: version %v (%T) is neither an integer nor a string", key, v, v)
	}
	delete(data, s.opts.StateVersionField)
	delete(data, s.opts.StateEventField)
	st.Attributes = data
	return st, nil
}

// Commit implements store.Store with one transaction that reads the record
// and the entity and writes both (or, without a state write, as Claim). The
// record is in the state's database: the dedup collection's, or
// ColocatedCollection of another.
func (s *Store) Commit(ctx context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	if w == nil {
		return s.claim(ctx, rec, now)
	}
	client, stateRef, data, merge, err := s.stateWrite(ctx, *w)
	if err != nil {
		return nil, err
	}
	ref := s.doc(rec.Key)
	if client != s.client {
		ref = client.Collection(ColocatedCollection).Doc(DocID(rec.Key))
	}
	var holder *store.Record
	err = client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		holder = nil
		snaps, err := tx.GetAll([]*firestore.DocumentRef{ref, stateRef})
		if err != nil {
			return err
		}
		if snaps[0].Exists() {
			r, err := decodeRecord(snaps[0])
			if err != nil {
				return err
			}
			if r.Live(now) {
				holder = r
				return store.ErrHeld
			}
		}
		if err := s.guard(*w, snaps[1], false); err != nil {
			return err
		}
		if err := tx.Set(ref, recordData(rec)); err != nil {
			return err
		}
		return tx.Set(stateRef, data, merge)
	})
	if errors.Is(err, store.ErrHeld) {
		return holder, store.ErrHeld
	}
	return nil, err
}

// Close implements store.Store: it closes the clients the store opened.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for name, c := range s.others {
		errs = append(errs, c.Close())
		delete(s.others, name)
	}
	if s.owned {
		errs = append(errs, s.client.Close())
	}
	return errors.Join(errs...)
}

func recordData(r store.Record) map[string]any {
	data := map[string]any{
		FieldKey:       r.Key,
		FieldStatus:    string(r.Status),
		FieldToken:     r.Token,
		FieldExpiresAt: ceilMicro(r.Expiry()),
	}
	if r.Status == store.InProgress {
		data[FieldClaimExpiresAt] = ceilMicro(r.ClaimExpiresAt)
	}
	if r.PayloadHash != "" {
		data[FieldPayloadHash] = r.PayloadHash
	}
	if r.Result != nil {
		data[FieldResult] = r.Result
	}
	return data
}

// ceilMicro rounds t up to Firestore's Timestamp resolution, the
// microsecond, so that neither a reader's check nor TTL deletion ends a
// record before its claim or its TTL.
func ceilMicro(t time.Time) time.Time {
	if r := t.Truncate(time.Microsecond); r.Before(t) {
		return r.Add(time.Microsecond)
	}
	return t
}

func decodeRecord(snap *firestore.DocumentSnapshot) (*store.Record, error) {
	data := snap.Data()
	str := func(name string) string { v, _ := data[name].(string); return v }
	r := &store.Record{
		Key:         str(FieldKey),
		Status:      store.Status(str(FieldStatus)),
		Token:       str(FieldToken),
		PayloadHash: str(FieldPayloadHash),
	}
	exp, ok := data[FieldExpiresAt].(time.Time)
	if !ok {
		return nil, fmt.Errorf("dedup record %s: field %s is missing or not a timestamp", snap.Ref.ID, FieldExpiresAt)
	}
	r.ExpiresAt = exp
	if v, ok := data[FieldClaimExpiresAt]; ok {
		if r.ClaimExpiresAt, ok = v.(time.Time); !ok {
			return nil, fmt.Errorf("dedup record %s: field %s is not a timestamp", snap.Ref.ID, FieldClaimExpiresAt)
		}
	}
	if b, ok := data[FieldResult].([]byte); ok {
		r.Result = b
	}
	return r, nil
}
