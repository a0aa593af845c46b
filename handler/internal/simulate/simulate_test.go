package simulate_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"cloud.google.com/go/firestore"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore/cosmostest"
	"github.com/threefactor/terraform-provider-threefactor/handler/dynamodbstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/firestorestore"
	"github.com/threefactor/terraform-provider-threefactor/handler/firestorestore/firestoretest"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/mototest"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/simulate"
	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

func TestMain(m *testing.M) {
	mototest.SetDummyCredentials()
	code := m.Run()
	mototest.StopShared()
	firestoretest.StopShared()
	cosmostest.StopShared()
	os.Exit(code)
}

// harsh is the world of every run: crashes, panics, slow and overrunning
// effects, writes in flight at the deadline, store faults on every call,
// clock skew within the margin, colliding ids from three sources, equal
// versions, other code writing the entities, and a TTL of a few ticks so
// that records expire mid-run.
func harsh(mode handler.Mode, events, entities, workers int, seed uint64) simulate.Config {
	return simulate.Config{
		Mode: mode, Events: events, Entities: entities, Workers: workers, Seed: seed,
		Timeout: 30 * time.Second, Tick: 10 * time.Second, TTL: 90 * time.Second,
		MaxSkew:  2 * time.Second, // clocks up to 4 s apart, within the default 5 s margin
		StopRate: 0.03, PanicRate: 0.01, SlowRate: 0.02, OverrunRate: 0.02, InFlightRate: 0.01,
		PoisonRate: 0.01, EqualVersionRate: 0.05,
		ThrottleRate: 0.01, LostResponseRate: 0.01, RetryRate: 0.01, OutageRate: 0.01,
	}
}

func runAndCheck(t *testing.T, cfg simulate.Config) *simulate.Report {
	t.Helper()
	start := time.Now()
	rep, err := simulate.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("simulate.Run: %v", err)
	}
	stats := rep.Stats()
	t.Logf("%s, %d events over %d entities, %d workers, TTL %s: %d ticks, %d dead-lettered, %v in %v", cfg.Mode, cfg.Events, cfg.Entities, cfg.Workers, cfg.TTL, rep.Ticks, len(rep.DeadLettered), stats, time.Since(start).Round(time.Millisecond))
	violations := rep.Check()
	if len(violations) > 0 {
		t.Logf("trace of the first violation's event:\n%s", rep.Trace(strings.Fields(violations[0])[0]))
	}
	for i, v := range violations {
		if i == 20 {
			t.Errorf("... and %d more", len(violations)-20)
			break
		}
		t.Error(v)
	}
	return rep
}

// wantExercised fails the test when a run did not exercise what it claims
// to: a run that injected nothing would prove nothing.
func wantExercised(t *testing.T, cfg simulate.Config, rep *simulate.Report) {
	t.Helper()
	stats := rep.Stats()
	faults := []simulate.Fault{
		simulate.StopBeforeWrite, simulate.StopAfterLastWrite, simulate.Panicked,
		simulate.OverrunKilled, simulate.WriteInFlight,
		simulate.Throttled, simulate.LostResponse, simulate.RetriedLostResponse,
	}
	if cfg.Mode == handler.ClaimComplete {
		faults = append(faults, simulate.StopAfterEffect, simulate.SlowEffect, simulate.OverrunIntoMargin, simulate.Outage)
	}
	for _, f := range faults {
		if stats.Faults[f] == 0 {
			t.Errorf("fault %s never fired", f)
		}
	}
	for _, o := range []handler.Outcome{handler.Applied, handler.Duplicate, handler.Stale, handler.Failed, handler.Conflict} {
		if stats.Outcomes[o] == 0 {
			t.Errorf("no delivery had outcome %s", o)
		}
	}
	if len(rep.DeadLettered) == 0 {
		t.Error("nothing was dead-lettered")
	}
}

func memory(cfg simulate.Config) simulate.Config {
	s := memstore.New()
	cfg.Store, cfg.StateTable = s, "state"
	cfg.OtherSeed = func(_ context.Context, entity string, n int) error {
		s.WriteItem("state", entity, map[string]any{"other": n})
		return nil
	}
	return cfg
}

func TestMemoryClaimComplete(t *testing.T) {
	t.Parallel()
	cfg := memory(harsh(handler.ClaimComplete, 5000, 1000, 8, 1))
	rep := runAndCheck(t, cfg)
	wantExercised(t, cfg, rep)
	if s := rep.Stats(); s.Extra["lapse"] == 0 || s.Extra["ttl"] == 0 {
		t.Errorf("extra applications %v: the claim/complete window and the TTL were not both exercised", s.Extra)
	}
}

// A TTL shorter than the timeout (both accepted by the provider): a record
// must still live as long as its claim, or a slow effect's event runs twice.
func TestMemoryShortTTL(t *testing.T) {
	t.Parallel()
	for i, mode := range []handler.Mode{handler.ClaimComplete, handler.Transactional} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := memory(harsh(mode, 2000, 200, 8, uint64(20+i)))
			cfg.TTL, cfg.SlowRate = 15*time.Second, 0.1
			runAndCheck(t, cfg)
		})
	}
}

func TestMemoryTransactional(t *testing.T) {
	t.Parallel()
	cfg := memory(harsh(handler.Transactional, 5000, 1000, 8, 2))
	rep := runAndCheck(t, cfg)
	wantExercised(t, cfg, rep)
	if s := rep.Stats(); s.Extra["ttl"] == 0 {
		t.Errorf("extra applications %v: no event was re-applied after its TTL", s.Extra)
	}
}

func TestMemorySingleWrite(t *testing.T) {
	t.Parallel()
	cfg := memory(harsh(handler.SingleWrite, 5000, 1000, 8, 6))
	rep := runAndCheck(t, cfg)
	wantExercised(t, cfg, rep)
}

// Lexicographic versions: sequences are unpadded, so "10" comes before "9".
func TestMemoryLexicographic(t *testing.T) {
	t.Parallel()
	for i, mode := range []handler.Mode{handler.ClaimComplete, handler.Transactional, handler.SingleWrite} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := memory(harsh(mode, 2000, 100, 8, uint64(10+i)))
			cfg.Ordering = handler.Lexicographic
			runAndCheck(t, cfg)
		})
	}
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
		cfg := memory(harsh(mode, 500, 50, 4, 3))
		cfg.Store = forgetful{cfg.Store}
		rep, err := simulate.Run(context.Background(), cfg)
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

// retriedClaims answers every claim it makes as an SDK retry does whose first attempt took effect
// unanswered: "held", with the caller's own record. The processor takes that as its own claim.
type retriedClaims struct{ store.Store }

func (r retriedClaims) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	if held, err := r.Store.Claim(ctx, rec, now); err != nil {
		return held, err
	}
	return &rec, store.ErrHeld
}

// TestOwnRetriedClaimIsAccepted: a claim that met its own record counts as accepted, as the
// processor counts it (the SDK retries a claim whose response was lost, under moto's load too).
func TestOwnRetriedClaimIsAccepted(t *testing.T) {
	t.Parallel()
	cfg := memory(simulate.Config{Mode: handler.ClaimComplete, Events: 200, Entities: 20, Workers: 4, Seed: 7,
		Timeout: 30 * time.Second, Tick: 10 * time.Second, TTL: 90 * time.Second})
	cfg.Store = retriedClaims{cfg.Store}
	runAndCheck(t, cfg)
}

func dynamo(t *testing.T, cfg simulate.Config) simulate.Config {
	srv := mototest.Shared(t)
	c := srv.Client()
	dedup, state := mototest.TableName("sim-dedup"), mototest.TableName("sim-state")
	mototest.CreateDedupTable(t, c, dedup)
	mototest.CreateStateTable(t, c, state)
	cfg.Store, cfg.StateTable = dynamodbstore.New(c, dynamodbstore.Options{Table: dedup}), state
	// Other code sets its own attribute with UpdateItem, creating the item
	// (without a version) when the handler has not yet written it.
	other := func(ctx context.Context, entity string, n int) error {
		_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(state),
			Key:                       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: entity}},
			UpdateExpression:          aws.String("SET #o = :n"),
			ExpressionAttributeNames:  map[string]string{"#o": "other"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.Itoa(n)}},
		})
		return err
	}
	cfg.OtherSeed, cfg.Other = other, other
	return cfg
}

// The moto runs make one store call at a time (Serial): moto applies a
// conditional write without a lock, so under CPU load two concurrent
// conditional writes of one item can both succeed (in a check here, 93 of 600
// rounds of four concurrent PutStateOnce of one version while the Firestore
// runs loaded the machine), which DynamoDB never allows. Invocations still
// interleave between calls.
func TestDynamoDBClaimComplete(t *testing.T) {
	t.Parallel()
	cfg := dynamo(t, harsh(handler.ClaimComplete, 300, 100, 4, 4))
	cfg.StopRate, cfg.PoisonRate, cfg.MaxReceive, cfg.Serial = 0.08, 0.03, 6, true
	runAndCheck(t, cfg)
}

func TestDynamoDBSingleWrite(t *testing.T) {
	t.Parallel()
	cfg := dynamo(t, harsh(handler.SingleWrite, 300, 100, 4, 6))
	cfg.StopRate, cfg.PoisonRate, cfg.MaxReceive, cfg.Serial = 0.08, 0.03, 6, true
	runAndCheck(t, cfg)
}

// Transactional on moto also runs with two workers: its TransactWriteItems
// is not safe under concurrency (it can lose other writers' items).
func TestDynamoDBTransactional(t *testing.T) {
	t.Parallel()
	cfg := dynamo(t, harsh(handler.Transactional, 250, 100, 2, 5))
	cfg.StopRate, cfg.PoisonRate, cfg.MaxReceive, cfg.Serial = 0.08, 0.03, 6, true
	runAndCheck(t, cfg)
}

// firestoreWorld runs on the Firestore emulator, in a project of its own.
func firestoreWorld(t *testing.T, cfg simulate.Config) simulate.Config {
	emu := firestoretest.Shared(t)
	c := emu.Client(t, firestoretest.Project(), firestoretest.Database)
	s, err := firestorestore.New(c, firestorestore.Options{Collection: "dedup"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.StateTable = s, "state"
	// Other code sets its own field with a merge, creating the document
	// (without a version) when the handler has not yet written it.
	other := func(ctx context.Context, entity string, n int) error {
		_, err := c.Collection("state").Doc(firestorestore.EntityDocID(entity)).Set(ctx, map[string]any{"other": n}, firestore.Merge([]string{"other"}))
		return err
	}
	cfg.OtherSeed, cfg.Other = other, other
	return cfg
}

func TestFirestoreClaimComplete(t *testing.T) {
	t.Parallel()
	cfg := firestoreWorld(t, harsh(handler.ClaimComplete, 300, 100, 4, 7))
	cfg.StopRate, cfg.PoisonRate, cfg.MaxReceive = 0.08, 0.03, 6
	runAndCheck(t, cfg)
}

func TestFirestoreTransactional(t *testing.T) {
	t.Parallel()
	cfg := firestoreWorld(t, harsh(handler.Transactional, 300, 100, 4, 8))
	cfg.StopRate, cfg.PoisonRate, cfg.MaxReceive = 0.08, 0.03, 6
	runAndCheck(t, cfg)
}

func TestFirestoreSingleWrite(t *testing.T) {
	t.Parallel()
	cfg := firestoreWorld(t, harsh(handler.SingleWrite, 300, 100, 4, 9))
	cfg.StopRate, cfg.PoisonRate, cfg.MaxReceive = 0.08, 0.03, 6
	runAndCheck(t, cfg)
}

// cosmosWorld runs on the Cosmos DB emulator (npm @vercel/cosmosdb-server),
// in a database of its own. The emulator serves one request at a time, so
// its conditional writes are exact; it has no TTL (the store's read-time
// check is what ends records) and its batches are not atomic (Commit's
// ordering makes that harmless there; see cosmosstore).
func cosmosWorld(t *testing.T, cfg simulate.Config) simulate.Config {
	s := cosmostest.Shared(t).Store(t)
	cfg.Store, cfg.StateTable = s, "state"
	// Other code sets its own field with a patch, creating the item
	// (without a version, never expiring) when the handler has not yet
	// written it.
	c := s.Container()
	other := func(ctx context.Context, entity string, n int) error {
		pk := azcosmos.NewPartitionKeyString(cosmosstore.EntityPK("state", entity))
		id := cosmosstore.EntityID(entity)
		for {
			var ops azcosmos.PatchOperations
			ops.AppendSet("/other", n)
			_, err := c.PatchItem(ctx, pk, id, ops, nil)
			if !isStatus(err, http.StatusNotFound) {
				return err
			}
			body, _ := json.Marshal(map[string]any{"id": id, "pk": cosmosstore.EntityPK("state", entity), "ttl": -1, "other": n})
			if _, err = c.CreateItem(ctx, pk, body, nil); !isStatus(err, http.StatusConflict) {
				return err
			}
		}
	}
	cfg.OtherSeed, cfg.Other = other, other
	return cfg
}

func isStatus(err error, code int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == code
}

func TestCosmosClaimComplete(t *testing.T) {
	t.Parallel()
	cfg := cosmosWorld(t, harsh(handler.ClaimComplete, 300, 100, 4, 11))
	cfg.StopRate, cfg.PoisonRate, cfg.MaxReceive = 0.08, 0.03, 6
	runAndCheck(t, cfg)
}

func TestCosmosTransactional(t *testing.T) {
	t.Parallel()
	cfg := cosmosWorld(t, harsh(handler.Transactional, 300, 100, 4, 12))
	cfg.StopRate, cfg.PoisonRate, cfg.MaxReceive = 0.08, 0.03, 6
	runAndCheck(t, cfg)
}

func TestCosmosSingleWrite(t *testing.T) {
	t.Parallel()
	cfg := cosmosWorld(t, harsh(handler.SingleWrite, 300, 100, 4, 13))
	cfg.StopRate, cfg.PoisonRate, cfg.MaxReceive = 0.08, 0.03, 6
	runAndCheck(t, cfg)
}
