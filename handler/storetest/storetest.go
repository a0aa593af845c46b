// Package storetest is the conformance suite every store.Store driver runs:
// memstore in microseconds, dynamodbstore against moto, firestorestore
// against the Firestore emulator, cosmosstore against npm
// @vercel/cosmosdb-server.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

// Harness gives each test a store with empty dedup and state tables.
type Harness interface {
	// Store returns a store; StateTable names a state table it can write.
	Store(t *testing.T) (s store.Store, stateTable string)
}

// HarnessFunc adapts a function to Harness.
type HarnessFunc func(t *testing.T) (store.Store, string)

// Store implements Harness.
func (f HarnessFunc) Store(t *testing.T) (store.Store, string) { return f(t) }

// ItemWriter is implemented by harnesses that can write an entity's item as
// the user's other code would, around the store: tests that need it are
// skipped for harnesses without it. The version, when item has one, is under
// "version"; the store must use that attribute name.
type ItemWriter interface {
	WriteItem(t *testing.T, s store.Store, table, key string, item map[string]any)
}

// WithItems adds an ItemWriter to a HarnessFunc.
type WithItems struct {
	HarnessFunc
	Write func(t *testing.T, s store.Store, table, key string, item map[string]any)
}

// WriteItem implements ItemWriter.
func (h WithItems) WriteItem(t *testing.T, s store.Store, table, key string, item map[string]any) {
	h.Write(t, s, table, key, item)
}

func itemWriter(t *testing.T, h Harness) ItemWriter {
	w, ok := h.(ItemWriter)
	if !ok {
		t.Skip("the harness cannot write an entity's item around the store")
	}
	return w
}

var seq atomic.Int64

func key(t *testing.T) string {
	return fmt.Sprintf("%s/%d", t.Name(), seq.Add(1))
}

// base is a fixed clock reading, a little in the future so that no real TTL
// deletion (moto, clouds) interferes with records the tests expect.
var base = time.Now().Add(time.Hour).Truncate(time.Second)

func claim(k, token string, now time.Time) store.Record {
	return store.Record{
		Key: k, Status: store.InProgress, Token: token,
		ExpiresAt: now.Add(time.Hour), ClaimExpiresAt: now.Add(30 * time.Second),
		PayloadHash: "h1",
	}
}

// RunConformanceTests runs the suite.
func RunConformanceTests(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Run("ClaimNewKey", func(t *testing.T) {
		s, _ := h.Store(t)
		k := key(t)
		if held, err := s.Claim(ctx, claim(k, "a", base), base); err != nil || held != nil {
			t.Fatalf("Claim(new key) = %v, %v; want nil, nil", held, err)
		}
		got, err := s.Get(ctx, k, base)
		if err != nil {
			t.Fatalf("Get after Claim: %v", err)
		}
		want := claim(k, "a", base)
		if got.Status != want.Status || got.Token != want.Token || !got.ExpiresAt.Equal(want.ExpiresAt) ||
			!got.ClaimExpiresAt.Equal(want.ClaimExpiresAt) || got.PayloadHash != want.PayloadHash {
			t.Errorf("Get = %+v; want %+v", got, want)
		}
	})
	t.Run("ClaimHeldKeyReturnsHolder", func(t *testing.T) {
		s, _ := h.Store(t)
		k := key(t)
		mustClaim(t, s, claim(k, "a", base), base)
		held, err := s.Claim(ctx, claim(k, "b", base), base.Add(29*time.Second))
		if !errors.Is(err, store.ErrHeld) {
			t.Fatalf("second Claim err = %v; want ErrHeld", err)
		}
		if held == nil || held.Token != "a" || held.Status != store.InProgress {
			t.Errorf("second Claim returned %+v; want the record of token a", held)
		}
	})
	t.Run("ClaimAfterClaimLapses", func(t *testing.T) {
		s, _ := h.Store(t)
		k := key(t)
		mustClaim(t, s, claim(k, "a", base), base)
		later := base.Add(30 * time.Second)
		mustClaim(t, s, claim(k, "b", later), later)
		if err := s.Complete(ctx, k, "a", nil, later.Add(time.Hour)); !errors.Is(err, store.ErrClaimLost) {
			t.Errorf("Complete by the lapsed holder err = %v; want ErrClaimLost", err)
		}
		if err := s.Release(ctx, k, "a"); !errors.Is(err, store.ErrClaimLost) {
			t.Errorf("Release by the lapsed holder err = %v; want ErrClaimLost", err)
		}
		if err := s.Complete(ctx, k, "b", nil, later.Add(time.Hour)); err != nil {
			t.Errorf("Complete by the new holder: %v", err)
		}
	})
	t.Run("CompletedKeyIsHeldUntilItExpires", func(t *testing.T) {
		s, _ := h.Store(t)
		k := key(t)
		mustClaim(t, s, claim(k, "a", base), base)
		exp := base.Add(2 * time.Hour)
		if err := s.Complete(ctx, k, "a", []byte("out"), exp); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		// Long after the claim's own deadline the completed record holds.
		at := base.Add(time.Hour)
		held, err := s.Claim(ctx, claim(k, "b", at), at)
		if !errors.Is(err, store.ErrHeld) || held == nil {
			t.Fatalf("Claim of completed key = %v, %v; want record, ErrHeld", held, err)
		}
		if held.Status != store.Completed || string(held.Result) != "out" || !held.ExpiresAt.Equal(exp) || held.PayloadHash != "h1" {
			t.Errorf("held record = %+v; want completed with result %q expiring %v", held, "out", exp)
		}
		// Past its expiry the record no longer counts even though it may
		// still be stored: expiry is checked at read time.
		if _, err := s.Get(ctx, k, exp); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get at expiry err = %v; want ErrNotFound", err)
		}
		mustClaim(t, s, claim(k, "c", exp), exp)
	})
	t.Run("CompletedRecordCountsItsWholeTTL", func(t *testing.T) {
		// A store that keeps expiry in whole seconds must round a completed
		// record's up, or a duplicate up to a second before the TTL runs again.
		s, _ := h.Store(t)
		k := key(t)
		mustClaim(t, s, claim(k, "a", base), base)
		exp := base.Add(time.Hour + 600*time.Millisecond)
		if err := s.Complete(ctx, k, "a", []byte("out"), exp); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		before := exp.Add(-time.Millisecond)
		if got, err := s.Get(ctx, k, before); err != nil || got.Status != store.Completed {
			t.Errorf("Get 1 ms before the record's expiry = %+v, %v; want the completed record", got, err)
		}
		if held, err := s.Claim(ctx, claim(k, "b", before), before); !errors.Is(err, store.ErrHeld) || held == nil {
			t.Errorf("Claim 1 ms before the record's expiry = %+v, %v; want the completed record, ErrHeld", held, err)
		}
	})
	t.Run("ClaimOutlivesShortTTL", func(t *testing.T) {
		// A TTL shorter than the claim must not free the key while the
		// claim runs (issue 9 bug 2).
		s, _ := h.Store(t)
		k := key(t)
		rec := claim(k, "a", base)
		rec.ExpiresAt, rec.ClaimExpiresAt = base.Add(time.Minute), base.Add(15*time.Minute)
		mustClaim(t, s, rec, base)
		at := base.Add(2 * time.Minute)
		if held, err := s.Claim(ctx, claim(k, "b", at), at); !errors.Is(err, store.ErrHeld) || held == nil || held.Token != "a" {
			t.Errorf("Claim while the first claim runs = %+v, %v; want record a, ErrHeld", held, err)
		}
		if got, err := s.Get(ctx, k, at); err != nil || got.Token != "a" {
			t.Errorf("Get while the claim runs = %+v, %v; want record a", got, err)
		}
	})
	t.Run("ReleaseFreesKey", func(t *testing.T) {
		s, _ := h.Store(t)
		k := key(t)
		mustClaim(t, s, claim(k, "a", base), base)
		if err := s.Release(ctx, k, "b"); !errors.Is(err, store.ErrClaimLost) {
			t.Errorf("Release with another token err = %v; want ErrClaimLost", err)
		}
		if err := s.Release(ctx, k, "a"); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if _, err := s.Get(ctx, k, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get after Release err = %v; want ErrNotFound", err)
		}
		mustClaim(t, s, claim(k, "b", base), base)
	})
	t.Run("CompleteMissingKey", func(t *testing.T) {
		s, _ := h.Store(t)
		if err := s.Complete(ctx, key(t), "a", nil, base); !errors.Is(err, store.ErrClaimLost) {
			t.Errorf("Complete of a missing key err = %v; want ErrClaimLost", err)
		}
	})
	t.Run("StateVersionGuard", func(t *testing.T) {
		s, table := h.Store(t)
		k := key(t)
		if _, err := s.GetState(ctx, table, k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetState of new entity err = %v; want ErrNotFound", err)
		}
		put := func(v int64, name string) error {
			return s.PutState(ctx, store.StateWrite{Table: table, Key: k, Version: v, Attributes: map[string]any{"name": name, "n": v}})
		}
		for _, step := range []struct {
			v       int64
			name    string
			wantErr error
		}{
			{5, "five", nil},
			{7, "seven", nil},
			{6, "six", store.ErrStale},
			{7, "seven-again", nil}, // the same version is the same event re-applied
			{1, "one", store.ErrStale},
		} {
			if err := put(step.v, step.name); !errors.Is(err, step.wantErr) {
				t.Errorf("PutState(version %d) err = %v; want %v", step.v, err, step.wantErr)
			}
		}
		st, err := s.GetState(ctx, table, k)
		if err != nil {
			t.Fatalf("GetState: %v", err)
		}
		if st.Version != 7 || st.Attributes["name"] != "seven-again" || fmt.Sprint(st.Attributes["n"]) != "7" {
			t.Errorf("GetState = %+v; want version 7 named seven-again", st)
		}
	})
	t.Run("ItemWithoutVersionIsOlderThanAnyEvent", func(t *testing.T) {
		// Other code made the entity without a version: the first guarded
		// write applies (issue 9 bug 3).
		s, table := h.Store(t)
		w := itemWriter(t, h)
		k := key(t)
		w.WriteItem(t, s, table, k, map[string]any{"notes": "made elsewhere"})
		if err := s.PutState(ctx, store.StateWrite{Table: table, Key: k, Version: 1, Attributes: map[string]any{"status": "placed"}}); err != nil {
			t.Fatalf("PutState on an item without version: %v; want it applied", err)
		}
		if st, err := s.GetState(ctx, table, k); err != nil || st.Version != 1 || st.Attributes["status"] != "placed" {
			t.Errorf("GetState = %+v, %v; want version 1, status placed", st, err)
		}
		k2, e2 := key(t), key(t)
		w.WriteItem(t, s, table, e2, map[string]any{"notes": "made elsewhere"})
		rec := store.Record{Key: k2, Status: store.Completed, Token: "a", ExpiresAt: base.Add(time.Hour)}
		if _, err := s.Commit(ctx, rec, base, &store.StateWrite{Table: table, Key: e2, Version: 1, Attributes: map[string]any{"status": "placed"}}); err != nil {
			t.Errorf("Commit on an item without version: %v; want it applied", err)
		}
	})
	t.Run("StateWriteKeepsOtherAttributes", func(t *testing.T) {
		// The state write sets its own attributes and the version; what
		// other code keeps on the entity stays (issue 9 bug 4).
		s, table := h.Store(t)
		w := itemWriter(t, h)
		k, e2 := key(t), key(t)
		for _, e := range []string{k, e2} {
			w.WriteItem(t, s, table, e, map[string]any{"version": 1, "owner": "billing", "status": "new"})
		}
		if err := s.PutState(ctx, store.StateWrite{Table: table, Key: k, Version: 2, Attributes: map[string]any{"status": "placed"}}); err != nil {
			t.Fatalf("PutState: %v", err)
		}
		rec := store.Record{Key: key(t), Status: store.Completed, Token: "a", ExpiresAt: base.Add(time.Hour)}
		if _, err := s.Commit(ctx, rec, base, &store.StateWrite{Table: table, Key: e2, Version: 2, Attributes: map[string]any{"status": "placed"}}); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		for _, e := range []string{k, e2} {
			st, err := s.GetState(ctx, table, e)
			if err != nil || st.Version != 2 || st.Attributes["status"] != "placed" || st.Attributes["owner"] != "billing" {
				t.Errorf("GetState = %+v, %v; want version 2, status placed and owner billing kept", st, err)
			}
		}
	})
	t.Run("VersionOfAnotherTypeIsAnError", func(t *testing.T) {
		// A version stored as a string is neither older nor newer than a
		// number: an error, never a silent stale (issue 9 bug 3).
		s, table := h.Store(t)
		w := itemWriter(t, h)
		k := key(t)
		w.WriteItem(t, s, table, k, map[string]any{"version": "7"})
		err := s.PutState(ctx, store.StateWrite{Table: table, Key: k, Version: 9, Attributes: map[string]any{"status": "x"}})
		if !errors.Is(err, store.ErrVersionType) {
			t.Errorf("PutState over a string version err = %v; want an error that is not ErrStale", err)
		}
		k2 := key(t)
		rec := store.Record{Key: k2, Status: store.Completed, Token: "a", ExpiresAt: base.Add(time.Hour)}
		_, err = s.Commit(ctx, rec, base, &store.StateWrite{Table: table, Key: k, Version: 9, Attributes: map[string]any{"status": "x"}})
		if err == nil || errors.Is(err, store.ErrStale) {
			t.Errorf("Commit over a string version err = %v; want an error that is not ErrStale", err)
		}
		if _, err := s.Get(ctx, k2, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("dedup record after a refused Commit: err = %v; want ErrNotFound", err)
		}
	})
	t.Run("SameVersionFromAnotherEventConflicts", func(t *testing.T) {
		s, table := h.Store(t)
		k := key(t)
		put := func(ev string) error {
			return s.PutState(ctx, store.StateWrite{Table: table, Key: k, Version: 5, Event: ev, Attributes: map[string]any{"from": ev}})
		}
		if err := put("a"); err != nil {
			t.Fatalf("first PutState: %v", err)
		}
		if err := put("a"); err != nil {
			t.Errorf("the same event again: %v; want it re-applied", err)
		}
		if err := put("b"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("another event at the same version err = %v; want ErrConflict", err)
		}
		rec := store.Record{Key: key(t), Status: store.Completed, Token: "t", ExpiresAt: base.Add(time.Hour)}
		if _, err := s.Commit(ctx, rec, base, &store.StateWrite{Table: table, Key: k, Version: 5, Event: "c", Attributes: map[string]any{"from": "c"}}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Commit of another event at the same version err = %v; want ErrConflict", err)
		}
		if _, err := s.Get(ctx, rec.Key, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("dedup record after a conflicting Commit: err = %v; want ErrNotFound", err)
		}
		if st, err := s.GetState(ctx, table, k); err != nil || st.Event != "a" || st.Attributes["from"] != "a" || st.Version != 5 {
			t.Errorf("GetState = %+v, %v; want version 5 from event a (first wins)", st, err)
		}
	})
	t.Run("PutStateOnce", func(t *testing.T) {
		s, table := h.Store(t)
		k := key(t)
		for _, step := range []struct {
			v       int64
			ev      string
			wantErr error
		}{
			{5, "a", nil},
			{5, "a", store.ErrDuplicate},
			{5, "b", store.ErrConflict},
			{3, "c", store.ErrStale},
			{6, "d", nil},
			{6, "d", store.ErrDuplicate},
		} {
			err := s.PutStateOnce(ctx, store.StateWrite{Table: table, Key: k, Version: step.v, Event: step.ev, Attributes: map[string]any{"from": step.ev}})
			if !errors.Is(err, step.wantErr) {
				t.Errorf("PutStateOnce(version %d, event %s) err = %v; want %v", step.v, step.ev, err, step.wantErr)
			}
		}
		if st, err := s.GetState(ctx, table, k); err != nil || st.Version != 6 || st.Event != "d" || st.Attributes["from"] != "d" {
			t.Errorf("GetState = %+v, %v; want version 6 from d", st, err)
		}
	})
	t.Run("PutStateOnceOnItemsOtherCodeWrote", func(t *testing.T) {
		s, table := h.Store(t)
		w := itemWriter(t, h)
		k, k2 := key(t), key(t)
		w.WriteItem(t, s, table, k, map[string]any{"owner": "billing"})
		w.WriteItem(t, s, table, k2, map[string]any{"version": "7"})
		if err := s.PutStateOnce(ctx, store.StateWrite{Table: table, Key: k, Version: 1, Event: "a", Attributes: map[string]any{"status": "x"}}); err != nil {
			t.Errorf("PutStateOnce on an item without version: %v", err)
		}
		if st, err := s.GetState(ctx, table, k); err != nil || st.Attributes["owner"] != "billing" || st.Attributes["status"] != "x" {
			t.Errorf("GetState = %+v, %v; want owner kept and status x", st, err)
		}
		err := s.PutStateOnce(ctx, store.StateWrite{Table: table, Key: k2, Version: 9, Event: "a"})
		if !errors.Is(err, store.ErrVersionType) {
			t.Errorf("PutStateOnce over a string version err = %v; want ErrVersionType", err)
		}
	})
	t.Run("LexicographicVersions", func(t *testing.T) {
		s, table := h.Store(t)
		k := key(t)
		for _, step := range []struct {
			seq     string
			wantErr error
		}{
			{"0002", nil},
			{"0010", nil},
			{"0009", store.ErrStale},
			{"0010", nil}, // the same event again
		} {
			err := s.PutState(ctx, store.StateWrite{Table: table, Key: k, Sequence: step.seq, Event: "e" + step.seq, Attributes: map[string]any{"seq": step.seq}})
			if !errors.Is(err, step.wantErr) {
				t.Errorf("PutState(sequence %s) err = %v; want %v", step.seq, err, step.wantErr)
			}
		}
		if err := s.PutStateOnce(ctx, store.StateWrite{Table: table, Key: k, Sequence: "0011", Event: "e0011"}); err != nil {
			t.Errorf("PutStateOnce(sequence 0011): %v", err)
		}
		if st, err := s.GetState(ctx, table, k); err != nil || st.Sequence != "0011" || st.Version != 0 {
			t.Errorf("GetState = %+v, %v; want sequence 0011", st, err)
		}
		// A number arriving for an entity versioned by strings is an error.
		if err := s.PutState(ctx, store.StateWrite{Table: table, Key: k, Version: 99, Event: "n"}); !errors.Is(err, store.ErrVersionType) {
			t.Errorf("numeric PutState over a sequence err = %v; want ErrVersionType", err)
		}
	})
	t.Run("StateMayNotSetTheVersionAttribute", func(t *testing.T) {
		s, table := h.Store(t)
		w := store.StateWrite{Table: table, Key: key(t), Version: 1, Attributes: map[string]any{"version": 99}}
		if err := s.PutState(ctx, w); err == nil {
			t.Errorf("PutState with an attribute named version succeeded; want an error")
		}
		if err := s.PutStateOnce(ctx, w); err == nil {
			t.Errorf("PutStateOnce with an attribute named version succeeded; want an error")
		}
	})
	t.Run("CommitWritesBothOrNeither", func(t *testing.T) {
		s, table := h.Store(t)
		k, entity := key(t), key(t)
		done := func(token string) store.Record {
			return store.Record{Key: k, Status: store.Completed, Token: token, ExpiresAt: base.Add(time.Hour), PayloadHash: "h1", Result: []byte(token)}
		}
		w := func(v int64) *store.StateWrite {
			return &store.StateWrite{Table: table, Key: entity, Version: v, Attributes: map[string]any{"v": fmt.Sprint(v)}}
		}
		if held, err := s.Commit(ctx, done("a"), base, w(3)); err != nil || held != nil {
			t.Fatalf("first Commit = %v, %v; want nil, nil", held, err)
		}
		held, err := s.Commit(ctx, done("b"), base, w(4))
		if !errors.Is(err, store.ErrHeld) || held == nil || string(held.Result) != "a" || held.Status != store.Completed {
			t.Errorf("Commit of a recorded key = %+v, %v; want record a, ErrHeld", held, err)
		}
		if st, _ := s.GetState(ctx, table, entity); st == nil || st.Version != 3 {
			t.Errorf("state after refused Commit = %+v; want version 3 (the refused commit wrote nothing)", st)
		}
		// A stale state write cancels the dedup write too.
		k2 := key(t)
		rec := done("c")
		rec.Key = k2
		if _, err := s.Commit(ctx, rec, base, w(2)); !errors.Is(err, store.ErrStale) {
			t.Errorf("Commit with a stale write err = %v; want ErrStale", err)
		}
		if _, err := s.Get(ctx, k2, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("dedup record after a stale Commit: err = %v; want ErrNotFound", err)
		}
		// Held wins over stale.
		if _, err := s.Commit(ctx, done("d"), base, w(1)); !errors.Is(err, store.ErrHeld) {
			t.Errorf("Commit of a recorded key with a stale write err = %v; want ErrHeld", err)
		}
		// Without a state write, Commit is a conditional put of the record.
		k3 := key(t)
		rec.Key = k3
		if _, err := s.Commit(ctx, rec, base, nil); err != nil {
			t.Errorf("Commit without state write: %v", err)
		}
		if got, err := s.Get(ctx, k3, base); err != nil || got.Status != store.Completed {
			t.Errorf("Get after Commit = %+v, %v; want completed", got, err)
		}
		// An expired record is overwritten.
		if _, err := s.Commit(ctx, done("e"), base.Add(time.Hour), w(9)); err != nil {
			t.Errorf("Commit over an expired record: %v", err)
		}
	})
	t.Run("ConcurrentClaimsHaveOneWinner", func(t *testing.T) {
		s, _ := h.Store(t)
		k := key(t)
		const n = 8
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := s.Claim(ctx, claim(k, fmt.Sprint(i), base), base)
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, store.ErrHeld):
					t.Errorf("Claim: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d of %d concurrent claims won; want 1", wins.Load(), n)
		}
	})
}

func mustClaim(t *testing.T, s store.Store, rec store.Record, now time.Time) {
	t.Helper()
	if held, err := s.Claim(context.Background(), rec, now); err != nil {
		t.Fatalf("Claim(%s, token %s) = %+v, %v; want success", rec.Key, rec.Token, held, err)
	}
}
