// Package store is the contract between package handler and a backend that
// keeps dedup records and version-guarded entity state.
//
// Drivers (memstore, dynamodbstore, firestorestore, cosmosstore)
// implement Store; package storetest checks that they keep this contract.
// Drivers do not retry: a transient error is returned as is, and the message
// fails and is redelivered by the queue.
package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// StateWrite is a version-guarded write of one entity's state. PutState
// applies it if the stored version is older, or equal and recorded by the
// same event (the same event applied again); PutStateOnce only if older. It
// sets Attributes, the version and the event on the entity and leaves the
// entity's other attributes (those other code keeps there) as they are.
type StateWrite struct {
	Table string
	Key   string
	// Version is a numeric version (positive). Exactly one of Version and
	// Sequence is set.
	Version int64
	// Sequence is a string version ordered lexicographically (byte-wise),
	// as the CloudEvents sequence attribute. An entity whose stored version
	// is a number refuses it with ErrVersionType, and the reverse.
	Sequence string
	// Event is the identity of the event that writes the state (its
	// source and id), recorded on the entity with the version, so that two
	// different events with the same version are told apart: the first
	// one stays, the second is refused with ErrConflict.
	Event      string
	Attributes map[string]any
}

// VersionString is w's version for messages.
func (w StateWrite) VersionString() string {
	if w.Sequence != "" {
		return strconv.Quote(w.Sequence)
	}
	return strconv.FormatInt(w.Version, 10)
}

// State is an entity's stored state. Version or Sequence holds its version
// (both zero when the entity has none); Event the event that wrote it, when
// recorded.
type State struct {
	Key        string
	Version    int64
	Sequence   string
	Event      string
	Attributes map[string]any
}

// Classify explains why a guarded write of w was refused, from the version
// and event stored on the entity at the time (stored is an int64, a string or
// nil; any other type is of no version type). once says whether the write
// was PutStateOnce's. It returns ErrStale, ErrConflict, ErrDuplicate (once
// only) or ErrVersionType, or, when the stored version should not have
// refused the write (it changed in between), a plain error to retry on.
func Classify(w StateWrite, stored any, storedEvent string, once bool) error {
	cmp, err := Compare(stored, w)
	if err != nil {
		return err
	}
	sameEvent := w.Event != "" && storedEvent == w.Event
	switch {
	case cmp > 0:
		return ErrStale
	case cmp == 0 && once && sameEvent:
		return ErrDuplicate
	case cmp == 0 && (once || !ReappliesEqual(w, storedEvent)):
		return fmt.Errorf("entity %s: version %s was written by event %q, not %q: %w", w.Key, w.VersionString(), storedEvent, w.Event, ErrConflict)
	}
	return fmt.Errorf("write of entity %s at version %s refused, yet the stored version %v does not refuse it: the entity changed in between; retry", w.Key, w.VersionString(), stored)
}

// ReappliesEqual reports whether PutState applies w over an equal stored
// version written by storedEvent: the same event applied again, or an event
// identity missing on either side (entities written before identities were
// recorded).
func ReappliesEqual(w StateWrite, storedEvent string) bool {
	return w.Event == "" || storedEvent == "" || storedEvent == w.Event
}

// Compare orders a stored version (int64, string, or nil for none) against
// w's: -1 older, 0 equal, 1 newer. A missing version is older than any. A
// stored version of another type than w's is ErrVersionType.
func Compare(stored any, w StateWrite) (int, error) {
	switch v := stored.(type) {
	case nil:
		return -1, nil
	case int64:
		if w.Sequence == "" {
			return cmp.Compare(v, w.Version), nil
		}
	case string:
		if w.Sequence != "" {
			return strings.Compare(v, w.Sequence), nil
		}
	}
	return 0, fmt.Errorf("entity %s: stored version %v (%T), event version %s: %w", w.Key, stored, stored, w.VersionString(), ErrVersionType)
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
	// ErrConflict: the entity's stored version equals the write's but was
	// written by another event. The first event's state stays.
	ErrConflict = errors.New("entity has the same version from another event")
	// ErrDuplicate: PutStateOnce found the write's version already stored
	// by the same event: this event was applied before.
	ErrDuplicate = errors.New("entity already has this event's version")
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

	// PutState applies w if the stored version is older than w's, or
	// equal and written by w.Event (or by no recorded event), or nothing is
	// stored, or the entity has no version (other code made it): a missing
	// version is older than any event. Otherwise ErrStale, ErrConflict, or
	// ErrVersionType when the stored version is not of w's type. A refusal
	// is classified (see Classify) from the stored item returned with it,
	// never assumed stale.
	PutState(ctx context.Context, w StateWrite) error

	// PutStateOnce applies w only if the stored version is older than
	// w's (or missing): one conditional write and no dedup record, for the
	// single-write mode. A refusal is classified from the item returned in
	// the same request: ErrDuplicate (same version, same event), ErrConflict,
	// ErrStale or ErrVersionType.
	PutStateOnce(ctx context.Context, w StateWrite) error

	// GetState returns the entity's state, or ErrNotFound.
	GetState(ctx context.Context, table, key string) (*State, error)

	// Commit atomically writes rec (normally Completed) under Claim's
	// condition and, when w is not nil, w under PutState's condition: both
	// or neither. When a live record holds the key it returns that record
	// and ErrHeld (even if w is also refused); else when w is refused,
	// PutState's error (ErrStale, ErrConflict, ErrVersionType).
	Commit(ctx context.Context, rec Record, now time.Time, w *StateWrite) (*Record, error)

	// Close releases the store's resources.
	Close() error
}
