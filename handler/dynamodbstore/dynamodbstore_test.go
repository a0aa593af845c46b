package dynamodbstore_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/threefactor/terraform-provider-threefactor/handler/dynamodbstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/mototest"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
	"github.com/threefactor/terraform-provider-threefactor/handler/storetest"
)

func TestMain(m *testing.M) {
	mototest.SetDummyCredentials()
	code := m.Run()
	mototest.StopShared()
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	srv := mototest.Shared(t)
	client := srv.Client()
	storetest.RunConformanceTests(t, storetest.WithItems{
		HarnessFunc: func(t *testing.T) (store.Store, string) {
			dedup, state := mototest.TableName("dedup"), mototest.TableName("state")
			mototest.CreateDedupTable(t, client, dedup)
			mototest.CreateStateTable(t, client, state)
			return &oneAtATime{Store: dynamodbstore.New(client, dynamodbstore.Options{Table: dedup})}, state
		},
		// Other code's write: a plain PutItem.
		Write: func(t *testing.T, _ store.Store, table, key string, attrs map[string]any) {
			item, err := attributevalue.MarshalMap(attrs)
			if err != nil {
				t.Fatal(err)
			}
			item["id"] = &types.AttributeValueMemberS{Value: key}
			if _, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
				t.Fatalf("writing %s around the store: %v", key, err)
			}
		},
	})
}

// oneAtATime makes one store call at a time. moto checks a write's condition
// and applies the write without a lock, so under CPU load two concurrent
// conditional writes of one item can both succeed (ConcurrentClaimsHaveOneWinner
// failed 3 times in 40 beside the Firestore emulator), which DynamoDB never
// allows: serialized, the suite's concurrent callers test the store, not moto.
type oneAtATime struct {
	mu sync.Mutex
	store.Store
}

func (s *oneAtATime) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.Claim(ctx, rec, now)
}

func (s *oneAtATime) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.Complete(ctx, key, token, result, expiresAt)
}

func (s *oneAtATime) Release(ctx context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.Release(ctx, key, token)
}

func (s *oneAtATime) Get(ctx context.Context, key string, now time.Time) (*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.Get(ctx, key, now)
}

func (s *oneAtATime) PutState(ctx context.Context, w store.StateWrite) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.PutState(ctx, w)
}

func (s *oneAtATime) PutStateOnce(ctx context.Context, w store.StateWrite) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.PutStateOnce(ctx, w)
}

func (s *oneAtATime) GetState(ctx context.Context, table, key string) (*store.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.GetState(ctx, table, key)
}

func (s *oneAtATime) Commit(ctx context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.Commit(ctx, rec, now, w)
}

// The URL the provider injects opens a working store.
func TestOpenFromURL(t *testing.T) {
	srv := mototest.Shared(t)
	table := mototest.TableName("dedup")
	mototest.CreateDedupTable(t, srv.Client(), table)
	raw := "dynamodb://" + table + "?region=" + mototest.Region + "&endpoint=" + url.QueryEscape(srv.Endpoint)
	s, err := store.Open(context.Background(), raw)
	if err != nil {
		t.Fatalf("store.Open(%q): %v", raw, err)
	}
	now := time.Now()
	rec := store.Record{Key: "k", Status: store.InProgress, Token: "t", ExpiresAt: now.Add(time.Hour), ClaimExpiresAt: now.Add(time.Minute)}
	if _, err := s.Claim(context.Background(), rec, now); err != nil {
		t.Fatalf("Claim through the opened store: %v", err)
	}
	if got, err := s.Get(context.Background(), "k", now); err != nil || got.Token != "t" {
		t.Errorf("Get = %+v, %v; want the claimed record", got, err)
	}
}

func TestOpenRejectsBadURL(t *testing.T) {
	for _, raw := range []string{"dynamodb://", "dynamodb:///x"} {
		if _, err := store.Open(context.Background(), raw); err == nil {
			t.Errorf("store.Open(%q) succeeded; want an error", raw)
		}
	}
}

// opCounter counts operations by name.
type opCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *opCounter) add(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("countOps", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.ops[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	})
}

func (c *opCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.ops
	c.ops = map[string]int{}
	return ops
}

// A refused state write is classified from the item returned with the
// refusal, in the same request: no read (single-write costs one write per
// delivery, first or duplicate).
func TestRefusedStateWriteNeedsNoRead(t *testing.T) {
	srv := mototest.Shared(t)
	counter := &opCounter{ops: map[string]int{}}
	client := srv.Client(counter.add)
	dedup, state := mototest.TableName("dedup"), mototest.TableName("state")
	mototest.CreateDedupTable(t, client, dedup)
	mototest.CreateStateTable(t, client, state)
	s := dynamodbstore.New(client, dynamodbstore.Options{Table: dedup})
	ctx := context.Background()
	w := store.StateWrite{Table: state, Key: "o-1", Version: 5, Event: "ce/src/e5", Attributes: map[string]any{"status": "shipped"}}
	counter.take()
	if err := s.PutStateOnce(ctx, w); err != nil {
		t.Fatal(err)
	}
	if ops := counter.take(); len(ops) != 1 || ops["UpdateItem"] != 1 {
		t.Errorf("first delivery made %v; want one UpdateItem", ops)
	}
	for _, tc := range []struct {
		w    store.StateWrite
		want error
	}{
		{w, store.ErrDuplicate},
		{store.StateWrite{Table: state, Key: "o-1", Version: 5, Event: "ce/src/other"}, store.ErrConflict},
		{store.StateWrite{Table: state, Key: "o-1", Version: 4, Event: "ce/src/e4"}, store.ErrStale},
	} {
		if err := s.PutStateOnce(ctx, tc.w); !errors.Is(err, tc.want) {
			t.Errorf("PutStateOnce(version %d, %s) err = %v; want %v", tc.w.Version, tc.w.Event, err, tc.want)
		}
		if ops := counter.take(); len(ops) != 1 || ops["UpdateItem"] != 1 {
			t.Errorf("refused write (%v) made %v; want one UpdateItem and no read", tc.want, ops)
		}
	}
	rec := store.Record{Key: "k", Status: store.Completed, Token: "t", ExpiresAt: time.Now().Add(time.Hour)}
	if _, err := s.Commit(ctx, rec, time.Now(), &store.StateWrite{Table: state, Key: "o-1", Version: 4, Event: "ce/src/e4"}); !errors.Is(err, store.ErrStale) {
		t.Errorf("Commit of an older version err = %v; want ErrStale", err)
	}
	if ops := counter.take(); len(ops) != 1 || ops["TransactWriteItems"] != 1 {
		t.Errorf("refused transaction made %v; want one TransactWriteItems and no read", ops)
	}
}

// TestStateTable: a granted table resolves to its name in the dedup table's region only, since a
// transaction spans one region.
func TestStateTable(t *testing.T) {
	u, _ := url.Parse("dynamodb://orders--dedup?region=eu-west-1")
	s, err := dynamodbstore.OpenURL(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := url.Parse("dynamodb://orders?region=eu-west-1")
	if got, err := s.StateTable(same); err != nil || got != "orders" {
		t.Errorf("StateTable(%s) = %q, %v; want orders", same, got, err)
	}
	for _, raw := range []string{"dynamodb://orders?region=us-east-1", "firestore://projects/p/databases/d/documents/orders"} {
		other, _ := url.Parse(raw)
		if got, err := s.StateTable(other); err == nil {
			t.Errorf("StateTable(%s) = %q; want an error", raw, got)
		}
	}
}
