// Package store is the contract between package handler and a backend that
// keeps dedup records and version-guarded entity state.
//
// Drivers (memstore, dynamodbstore, and later the Firestore and Azure ones)
// implement Store; package storetest checks that they keep this contract.
// Drivers do not retry: a transient error is returned as is, and the message
// fails and is redelivered by the queue.
package store

import (
	"context"
	"errors"
	"time"
)

// Status is the state of a dedup record.
type Status string

const (
	// InProgress: a delivery has claimed the key and has not finished.
	InProgress Status = "IN_PROGRESS"
	// Completed: the event's effect is done; later deliveries are duplicates.
	Completed Status = "COMPLETED"
)

// Record is one dedup record, keyed by the event's identity.
type Record struct {
	Key    string
	Status Status
	// Token identifies the delivery that wrote the record, so that only
	// the claim holder can complete or release it.
	Token string
	// ExpiresAt is when the record stops counting (the store's TTL
	// attribute). Stores delete late, so readers compare it with now. An
	// InProgress record lives at least until ClaimExpiresAt, whatever
	// ExpiresAt says (see Expiry): stores write Expiry().
	ExpiresAt time.Time
	// ClaimExpiresAt is when an InProgress claim lapses and another
	// delivery may claim the key (the holder's deadline).
	ClaimExpiresAt time.Time
	// PayloadHash lets a later delivery tell a duplicate from a different
	// event that reuses the key.
	PayloadHash string
	// Result is the handler's optional output, returned for duplicates.
	Result []byte
}

// Expiry is when r stops counting: ExpiresAt, or ClaimExpiresAt when r is an
// InProgress claim whose deadline comes later, so that a record never expires
// (and is never deleted by the store's TTL) before its claim lapses.
func (r *Record) Expiry() time.Time {
	if r.Status == InProgress && r.ClaimExpiresAt.After(r.ExpiresAt) {
		return r.ClaimExpiresAt
	}
	return r.ExpiresAt
}

// Live reports whether r still holds its key at now: it has not expired and,
// when in progress, its claim has not lapsed.
func (r *Record) Live(now time.Time) bool {
	if !now.Before(r.Expiry()) {
		return false
	}
	return r.Status != InProgress || now.Before(r.ClaimExpiresAt)
}

// StateWrite is a last-writer-wins write of one entity's state, applied only
// if Version is at least the stored version. Re-writing the stored version is
// allowed: it is the same event applied again, not an older one. It sets
// Attributes and the version on the entity and leaves its other attributes
// (those other code keeps there) as they are.
type StateWrite struct {
	Table      string
	Key        string
	Version    int64
	Attributes map[string]any
}

// State is an entity's stored state.
type State struct {
	Key        string
	Version    int64
	Attributes map[string]any
}

var (
	// ErrHeld: a live record already holds the key. Claim and Commit
	// return it together with that record.
	ErrHeld = errors.New("dedup key is held by a live record")
	// ErrClaimLost: the record no longer carries the caller's token (it
	// lapsed and was re-claimed, or expired and was deleted).
	ErrClaimLost = errors.New("dedup claim is no longer held")
	// ErrStale: the entity's stored version is newer than the write's.
	ErrStale = errors.New("entity has a newer version")
	// ErrVersionType: the entity's stored version and the write's version
	// are of different types (a number and a string), so neither is older:
	// the event fails rather than being dropped as stale.
	ErrVersionType = errors.New("stored version and event version are of different types")
	// ErrNotFound: no live record or no state for the key.
	ErrNotFound = errors.New("not found")
)

// Store keeps dedup records and entity state. Every method is safe for
// concurrent use. now is passed in, never read from the wall clock, so that
// expiry is decided by the caller's clock and checked at read time.
type Store interface {
	// Claim writes rec (InProgress) if no live record holds rec.Key at now;
	// an expired record or a lapsed claim is overwritten. Otherwise it
	// returns the live record and ErrHeld.
	Claim(ctx context.Context, rec Record, now time.Time) (*Record, error)

	// Complete marks the record Completed with result and a new expiry, if
	// it still carries token; otherwise ErrClaimLost.
	Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error

	// Release deletes the record if it still carries token, so that a retry
	// can run; otherwise ErrClaimLost.
	Release(ctx context.Context, key, token string) error

	// Get returns the key's record unless it is missing or has expired at
	// now (ErrNotFound). A lapsed claim is still returned.
	Get(ctx context.Context, key string, now time.Time) (*Record, error)

	// PutState applies w if w.Version >= the stored version, or nothing is
	// stored, or the entity has no version (other code made it): a missing
	// version is older than any event. Otherwise ErrStale, or
	// ErrVersionType when the stored version is not of w's type. A refusal
	// is classified from the stored item, never assumed stale.
	PutState(ctx context.Context, w StateWrite) error

	// GetState returns the entity's state, or ErrNotFound.
	GetState(ctx context.Context, table, key string) (*State, error)

	// Commit atomically writes rec (normally Completed) under Claim's
	// condition and, when w is not nil, w under PutState's condition: both
	// or neither. When a live record holds the key it returns that record
	// and ErrHeld (even if w is also stale); else when w is stale, ErrStale.
	Commit(ctx context.Context, rec Record, now time.Time, w *StateWrite) (*Record, error)

	// Close releases the store's resources.
	Close() error
}
