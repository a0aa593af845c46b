package dynamodbstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/dynamodbstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/mototest"
)

// calls counts item writes and reads as DynamoDB bills them: a standard write
// of an item up to 1 KB is 1 WCU (a failed conditional write too); a
// transactional write is 2 WCU per item; a strongly consistent read up to
// 4 KB is 1 RCU. Every item here is under 1 KB.
type calls struct {
	mu            sync.Mutex
	writes, reads int
	attempts, ops int
	lastErr       error
	wcu, rcu      float64
	byOp          map[string]int
}

func (c *calls) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes, c.reads, c.wcu, c.rcu, c.byOp = 0, 0, 0, 0, map[string]int{}
	c.attempts, c.ops = 0, 0
}

func (c *calls) middleware(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			switch p := in.Parameters.(type) {
			case *dynamodb.PutItemInput, *dynamodb.UpdateItemInput, *dynamodb.DeleteItemInput:
				c.writes++
				c.wcu++
			case *dynamodb.TransactWriteItemsInput:
				c.writes += len(p.TransactItems)
				c.wcu += 2 * float64(len(p.TransactItems))
			case *dynamodb.GetItemInput:
				c.reads++
				if aws.ToBool(p.ConsistentRead) {
					c.rcu++
				} else {
					c.rcu += 0.5
				}
			}
			c.byOp[fmt.Sprintf("%T", in.Parameters)]++
			c.ops++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	}, func(st *middleware.Stack) error {
		// After the retry middleware: runs once per attempt.
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("countAttempts", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.attempts++
			c.mu.Unlock()
			out, md, err := next.HandleFinalize(ctx, in)
			if err != nil {
				c.mu.Lock()
				c.lastErr = err
				c.mu.Unlock()
			}
			return out, md, err
		}), middleware.After)
	})
}

// benchClient uses the moto of bench/handler.sh (THREEFACTOR_BENCH_DYNAMODB_ENDPOINT),
// so both sides of the Powertools comparison hit one server, or else starts one.
func benchClient(b *testing.B, c *calls) *dynamodb.Client {
	if ep := os.Getenv("THREEFACTOR_BENCH_DYNAMODB_ENDPOINT"); ep != "" {
		return dynamodb.New(dynamodb.Options{
			Region: mototest.Region, BaseEndpoint: aws.String(ep),
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		}, c.middleware)
	}
	return mototest.Shared(b).Client(c.middleware)
}

// BenchmarkHandler processes one event per iteration against DynamoDB and
// reports requests, item writes, reads and capacity units per event, for a
// first delivery, a duplicate (a redelivery of the newest event of its
// entity) and a stale (out-of-order) event, in every mode. The handler's
// effect is one state write, as in bench/powertools.
func BenchmarkHandler(b *testing.B) {
	for _, mode := range []handler.Mode{handler.ClaimComplete, handler.Transactional, handler.SingleWrite} {
		for _, kind := range []string{"first", "duplicate", "stale"} {
			b.Run(mode.String()+"/"+kind, func(b *testing.B) { benchHandler(b, mode, kind) })
		}
	}
}

func benchHandler(b *testing.B, mode handler.Mode, kind string) {
	ctx := context.Background()
	c := &calls{byOp: map[string]int{}}
	client := benchClient(b, c)
	dedup, state := mototest.TableName("bench-dedup"), mototest.TableName("bench-state")
	mototest.CreateDedupTable(b, client, dedup)
	mototest.CreateStateTable(b, client, state)
	// moto deep-copies the tables a TransactWriteItems touches (to roll back),
	// so large tables left behind would slow the later runs down.
	b.Cleanup(func() {
		for _, t := range []string{dedup, state} {
			_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(t)})
		}
	})
	p := handler.New(dynamodbstore.New(client, dynamodbstore.Options{Table: dedup}), handler.Options{
		Mode: mode, Handler: "bench", StateTable: state, Timeout: time.Minute,
	})
	fn := func(_ context.Context, ev handler.Event) (handler.Effect, error) {
		return handler.Effect{State: &handler.StateWrite{Key: ev.Subject, Attributes: map[string]any{"event": ev.ID}}}, nil
	}
	// One entity per event, so that each event is the newest of its
	// entity and its redelivery a duplicate (in single-write mode a
	// redelivery of a superseded event is stale, not a duplicate).
	ev := func(i int) handler.Event {
		return handler.Event{
			Source: "/bench", ID: "e" + strconv.Itoa(i), CloudEvent: true, Subject: "entity-" + strconv.Itoa(i),
			Sequence: strconv.Itoa(i + 10), Data: []byte(`{"entity":"` + strconv.Itoa(i) + `","amount":42}`),
		}
	}
	if kind == "stale" {
		// 100 entities, each with a newer version already stored.
		first := ev
		ev = func(i int) handler.Event {
			e := first(i)
			e.Subject = "entity-" + strconv.Itoa(i%100)
			return e
		}
	}
	wantOutcome := handler.Applied
	switch kind {
	case "duplicate":
		wantOutcome = handler.Duplicate
		for i := range b.N {
			if r := p.Process(ctx, ev(i), fn); r.Outcome != handler.Applied {
				b.Fatalf("seeding: %s %v", r.Outcome, r.Err)
			}
		}
	case "stale":
		wantOutcome = handler.Stale
		for i := range 100 {
			e := ev(i)
			e.ID, e.Sequence = "newest-"+e.ID, "1000000000"
			if r := p.Process(ctx, e, fn); r.Outcome != handler.Applied {
				b.Fatalf("seeding: %s %v", r.Outcome, r.Err)
			}
		}
	}
	c.reset()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if r := p.Process(ctx, ev(i), fn); r.Outcome != wantOutcome {
			b.Fatalf("event %d: outcome %s (%v); want %s (%d SDK retries so far; last attempt error: %v)", i, r.Outcome, r.Err, wantOutcome, c.attempts-c.ops, c.lastErr)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(c.ops)/n, "requests/event")
	b.ReportMetric(float64(c.writes)/n, "writes/event")
	b.ReportMetric(float64(c.reads)/n, "reads/event")
	b.ReportMetric(c.wcu/n, "WCU/event")
	b.ReportMetric(c.rcu/n, "RCU/event")
	b.ReportMetric(n/elapsed.Seconds(), "events/s")
	// Retries are moto's hiccups, not the library's calls; they are
	// excluded from the write counts above.
	b.ReportMetric(float64(c.attempts-c.ops)/n, "retries/event")
	if testing.Verbose() {
		b.Logf("calls per %d events: %v", b.N, c.byOp)
	}
}
