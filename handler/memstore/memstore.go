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
	"maps"
	"net/url"
	"sync"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

func init() {
	store.Register("mem", func(context.Context, *url.URL) (store.Store, error) { return New(), nil })
}

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	records map[string]store.Record
	state   map[stateKey]store.State
}

type stateKey struct{ table, key string }

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{records: map[string]store.Record{}, state: map[stateKey]store.State{}}
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
	if s.staleLocked(w) {
		return store.ErrStale
	}
	s.putStateLocked(w)
	return nil
}

// GetState implements store.Store.
func (s *Store) GetState(_ context.Context, table, key string) (*store.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.state[stateKey{table, key}]
	if !ok {
		return nil, store.ErrNotFound
	}
	st.Attributes = maps.Clone(st.Attributes)
	return &st, nil
}

// Commit implements store.Store.
func (s *Store) Commit(_ context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if held := s.liveLocked(rec.Key, now); held != nil {
		return held, store.ErrHeld
	}
	if w != nil {
		if s.staleLocked(*w) {
			return nil, store.ErrStale
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

func (s *Store) staleLocked(w store.StateWrite) bool {
	cur, ok := s.state[stateKey{w.Table, w.Key}]
	return ok && cur.Version > w.Version
}

func (s *Store) putStateLocked(w store.StateWrite) {
	s.state[stateKey{w.Table, w.Key}] = store.State{Key: w.Key, Version: w.Version, Attributes: maps.Clone(w.Attributes)}
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
