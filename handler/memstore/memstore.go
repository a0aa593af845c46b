// Package memstore is an in-memory dedup and state store, for unit tests of
// handlers and for the delivery simulator. It keeps the same contract as the
// cloud stores (package storetest checks both), so a handler tested against
// it behaves the same against DynamoDB.
//
// It registers the URL scheme "mem": THREEFACTOR_DEDUP_STORE=mem:// opens a
// new, empty store.
package memstore

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"sync"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

func init() {
	store.Register("mem", func(context.Context, *url.URL) (store.Store, error) { return New(), nil })
}

// StateTable implements store.TableResolver: mem://<table> names a table of the store.
func (s *Store) StateTable(u *url.URL) (string, error) {
	if u.Scheme != "mem" || u.Host == "" {
		return "", fmt.Errorf("table URL %q: want mem://<table>", u.Redacted())
	}
	return u.Host, nil
}

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	records map[string]store.Record
	// items are entities as a table holds them: the state's attributes,
	// the version under VersionAttribute, and whatever other code wrote.
	items map[stateKey]map[string]any
}

// The item attributes that hold an entity's version (an int64, or a string
// for lexicographic versions) and the event that wrote it, as in
// dynamodbstore.
const (
	VersionAttribute = "version"
	EventAttribute   = "version_event"
)

type stateKey struct{ table, key string }

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{records: map[string]store.Record{}, items: map[stateKey]map[string]any{}}
}

// Claim implements store.Store.
func (s *Store) Claim(_ context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if held := s.liveLocked(rec.Key, now); held != nil {
		return held, store.ErrHeld
	}
	rec.ExpiresAt = rec.Expiry()
	s.records[rec.Key] = cloneRecord(rec)
	return nil, nil
}

// Complete implements store.Store.
func (s *Store) Complete(_ context.Context, key, token string, result []byte, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[key]
	if !ok || rec.Token != token {
		return store.ErrClaimLost
	}
	rec.Status = store.Completed
	rec.Result = clone(result)
	rec.ExpiresAt = expiresAt
	rec.ClaimExpiresAt = time.Time{}
	s.records[key] = rec
	return nil
}

// Release implements store.Store.
func (s *Store) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[key]
	if !ok || rec.Token != token {
		return store.ErrClaimLost
	}
	delete(s.records, key)
	return nil
}

// Get implements store.Store.
func (s *Store) Get(_ context.Context, key string, now time.Time) (*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[key]
	// An expired record may still be stored (as in the clouds, whose TTL
	// deletion lags): expiry is decided here, at read time.
	if !ok || !now.Before(rec.Expiry()) {
		return nil, store.ErrNotFound
	}
	r := cloneRecord(rec)
	return &r, nil
}

// PutState implements store.Store.
func (s *Store) PutState(_ context.Context, w store.StateWrite) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.guardLocked(w); err != nil {
		return err
	}
	s.putStateLocked(w)
	return nil
}

// WriteItem replaces an entity's whole item, around the version guard, as the
// user's other code would (a plain PutItem): for tests of tables that other
// code also writes. Integers are stored as int64; a version, if any, is under
// VersionAttribute.
func (s *Store) WriteItem(table, key string, item map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := make(map[string]any, len(item))
	for k, v := range item {
		switch n := v.(type) {
		case int:
			v = int64(n)
		case int32:
			v = int64(n)
		}
		cp[k] = v
	}
	s.items[stateKey{table, key}] = cp
}

// GetState implements store.Store.
func (s *Store) GetState(_ context.Context, table, key string) (*store.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	item, ok := s.items[stateKey{table, key}]
	if !ok {
		return nil, store.ErrNotFound
	}
	st := &store.State{Key: key, Attributes: maps.Clone(item)}
	delete(st.Attributes, VersionAttribute)
	delete(st.Attributes, EventAttribute)
	st.Event, _ = item[EventAttribute].(string)
	switch v := item[VersionAttribute].(type) {
	case nil:
	case int64:
		st.Version = v
	case string:
		st.Sequence = v
	default:
		return nil, fmt.Errorf("state of %s: version %v (%T) is neither a number nor a string", key, v, v)
	}
	return st, nil
}

// Commit implements store.Store.
func (s *Store) Commit(_ context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if held := s.liveLocked(rec.Key, now); held != nil {
		return held, store.ErrHeld
	}
	if w != nil {
		if err := s.guardLocked(*w); err != nil {
			return nil, err
		}
		s.putStateLocked(*w)
	}
	rec.ExpiresAt = rec.Expiry()
	s.records[rec.Key] = cloneRecord(rec)
	return nil, nil
}

// Close implements store.Store.
func (s *Store) Close() error { return nil }

// Len returns the number of dedup records stored, expired ones included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

func (s *Store) liveLocked(key string, now time.Time) *store.Record {
	rec, ok := s.records[key]
	if !ok || !rec.Live(now) {
		return nil
	}
	r := cloneRecord(rec)
	return &r
}

// PutStateOnce implements store.Store.
func (s *Store) PutStateOnce(_ context.Context, w store.StateWrite) error {
	if err := reserved(w); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	item := s.items[stateKey{w.Table, w.Key}]
	cmp, err := store.Compare(item[VersionAttribute], w)
	if err != nil {
		return err
	}
	if cmp >= 0 {
		ev, _ := item[EventAttribute].(string)
		return store.Classify(w, item[VersionAttribute], ev, true)
	}
	s.putStateLocked(w)
	return nil
}

// guardLocked is PutState's version guard: nil when w may be written.
func (s *Store) guardLocked(w store.StateWrite) error {
	if err := reserved(w); err != nil {
		return err
	}
	item := s.items[stateKey{w.Table, w.Key}]
	cmp, err := store.Compare(item[VersionAttribute], w)
	if err != nil {
		return err
	}
	ev, _ := item[EventAttribute].(string)
	if cmp < 0 || cmp == 0 && store.ReappliesEqual(w, ev) {
		return nil
	}
	return store.Classify(w, item[VersionAttribute], ev, false)
}

// reserved refuses state attributes that the store writes itself, as
// dynamodbstore does.
func reserved(w store.StateWrite) error {
	for _, name := range []string{VersionAttribute, EventAttribute} {
		if _, ok := w.Attributes[name]; ok {
			return fmt.Errorf("state of %s: attribute %q is the entity's version or event, which the store writes", w.Key, name)
		}
	}
	return nil
}

// putStateLocked sets w's attributes and version on the item, keeping the
// others, as an UpdateItem would.
func (s *Store) putStateLocked(w store.StateWrite) {
	k := stateKey{w.Table, w.Key}
	item := s.items[k]
	if item == nil {
		item = map[string]any{}
		s.items[k] = item
	}
	maps.Copy(item, w.Attributes)
	if w.Sequence != "" {
		item[VersionAttribute] = w.Sequence
	} else {
		item[VersionAttribute] = w.Version
	}
	if w.Event != "" {
		item[EventAttribute] = w.Event
	} else {
		delete(item, EventAttribute)
	}
}

func cloneRecord(r store.Record) store.Record {
	r.Result = clone(r.Result)
	return r
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
