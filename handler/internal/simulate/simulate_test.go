package simulate_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/dynamodbstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/mototest"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/simulate"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

func TestMain(m *testing.M) {
	mototest.SetDummyCredentials()
	code := m.Run()
	mototest.StopShared()
	os.Exit(code)
}

func runAndCheck(t *testing.T, cfg simulate.Config) *simulate.Report {
	t.Helper()
	start := time.Now()
	rep, err := simulate.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("simulate.Run: %v", err)
	}
	stats := rep.Stats()
	t.Logf("%s, %d events, %d workers: %d rounds, %d dead-lettered, %v in %v", cfg.Mode, cfg.Events, cfg.Workers, rep.Rounds, len(rep.DeadLettered), stats, time.Since(start).Round(time.Millisecond))
	violations := rep.Check()
	for i, v := range violations {
		if i == 20 {
			t.Errorf("... and %d more", len(violations)-20)
			break
		}
		t.Error(v)
	}
	// A run that stopped nothing, delivered no duplicate or nothing out of
	// order would prove nothing.
	wantPoints := []simulate.Point{simulate.BeforeClaim, simulate.AtDeadline, simulate.AfterCompletion}
	if cfg.Mode == handler.ClaimComplete {
		wantPoints = append(wantPoints, simulate.BetweenEffectAndCompletion)
	}
	for _, p := range wantPoints {
		if stats.Stops[p] == 0 {
			t.Errorf("no worker was stopped %s", p)
		}
	}
	for _, o := range []handler.Outcome{handler.Applied, handler.Duplicate, handler.Stale, handler.Failed} {
		if stats.Outcomes[o] == 0 {
			t.Errorf("no delivery had outcome %s", o)
		}
	}
	if len(rep.DeadLettered) == 0 {
		t.Error("nothing was dead-lettered")
	}
	return rep
}

func TestMemoryClaimComplete(t *testing.T) {
	t.Parallel()
	rep := runAndCheck(t, simulate.Config{
		Mode: handler.ClaimComplete, Store: memstore.New(), StateTable: "state",
		Events: 10_000, Entities: 2000, Workers: 8, Seed: 1,
	})
	if s := rep.Stats(); s.Extra == 0 {
		t.Error("no event was applied twice: the claim/complete window was never exercised")
	}
	if rep.Stats().Outcomes[handler.InFlight] == 0 {
		t.Error("no delivery found its key held by another")
	}
}

func TestMemoryTransactional(t *testing.T) {
	t.Parallel()
	runAndCheck(t, simulate.Config{
		Mode: handler.Transactional, Store: memstore.New(), StateTable: "state",
		Events: 10_000, Entities: 2000, Workers: 8, Seed: 2,
	})
}

// forgetful loses every dedup record: the checks must catch it.
type forgetful struct{ store.Store }

func (f forgetful) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	rec.Key += "/" + rec.Token
	return f.Store.Claim(ctx, rec, now)
}

func (f forgetful) Complete(ctx context.Context, key, token string, result []byte, exp time.Time) error {
	return f.Store.Complete(ctx, key+"/"+token, token, result, exp)
}

func (f forgetful) Release(ctx context.Context, key, token string) error {
	return f.Store.Release(ctx, key+"/"+token, token)
}

func (f forgetful) Commit(ctx context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	rec.Key += "/" + rec.Token
	return f.Store.Commit(ctx, rec, now, w)
}

func TestChecksCatchMissingDedup(t *testing.T) {
	t.Parallel()
	for _, mode := range []handler.Mode{handler.ClaimComplete, handler.Transactional} {
		rep, err := simulate.Run(context.Background(), simulate.Config{
			Mode: mode, Store: forgetful{memstore.New()}, StateTable: "state",
			Events: 500, Entities: 50, Workers: 4, Seed: 3,
		})
		if err != nil {
			t.Fatalf("%s: simulate.Run: %v", mode, err)
		}
		if v := rep.Check(); len(v) == 0 {
			t.Errorf("%s: a store that forgets dedup records passed the checks", mode)
		} else {
			t.Logf("%s: %d violations, first: %s", mode, len(v), v[0])
		}
	}
}

func dynamoStore(t *testing.T) (store.Store, string) {
	srv := mototest.Shared(t)
	c := srv.Client()
	dedup, state := mototest.TableName("sim-dedup"), mototest.TableName("sim-state")
	mototest.CreateDedupTable(t, c, dedup)
	mototest.CreateStateTable(t, c, state)
	return dynamodbstore.New(c, dynamodbstore.Options{Table: dedup}), state
}

func TestDynamoDBClaimComplete(t *testing.T) {
	t.Parallel()
	s, state := dynamoStore(t)
	runAndCheck(t, simulate.Config{
		Mode: handler.ClaimComplete, Store: s, StateTable: state,
		Events: 600, Entities: 300, Workers: 4, Seed: 4, StopRate: 0.1, PoisonRate: 0.02,
	})
}

// Transactional mode runs one worker: moto's TransactWriteItems is not safe
// under concurrency (it can lose other writers' items).
func TestDynamoDBTransactional(t *testing.T) {
	t.Parallel()
	s, state := dynamoStore(t)
	runAndCheck(t, simulate.Config{
		Mode: handler.Transactional, Store: s, StateTable: state,
		Events: 600, Entities: 300, Workers: 1, Seed: 5, StopRate: 0.1, PoisonRate: 0.02,
	})
}
