package handler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	_ "github.com/threefactor/terraform-provider-threefactor/handler/memstore"
)

func TestConfigFromEnv(t *testing.T) {
	t.Setenv(handler.EnvHandler, "orders-placed")
	t.Setenv(handler.EnvCloud, "aws")
	t.Setenv(handler.EnvDedupStore, "dynamodb://orders-placed-dedup?region=eu-west-1")
	t.Setenv(handler.EnvDedupTTL, "3600")
	t.Setenv(handler.EnvTimeout, "45")
	got, err := handler.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := handler.Config{Handler: "orders-placed", Cloud: "aws", DedupStore: "dynamodb://orders-placed-dedup?region=eu-west-1", TTL: time.Hour, Timeout: 45 * time.Second}
	if got != wantCfg {
		t.Errorf("ConfigFromEnv = %+v; want %+v", got, wantCfg)
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	t.Setenv(handler.EnvDedupStore, "")
	if _, err := handler.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), handler.EnvDedupStore) {
		t.Errorf("missing store: err = %v; want one naming %s", err, handler.EnvDedupStore)
	}
	t.Setenv(handler.EnvDedupStore, "mem://")
	t.Setenv(handler.EnvTimeout, "soon")
	if _, err := handler.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), handler.EnvTimeout) {
		t.Errorf("bad timeout: err = %v; want one naming %s", err, handler.EnvTimeout)
	}
}

func TestFromEnvOpensRegisteredStore(t *testing.T) {
	t.Setenv(handler.EnvDedupStore, "mem://")
	t.Setenv(handler.EnvHandler, "h")
	p, err := handler.FromEnv(context.Background(), handler.Options{StateTable: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	ev := event("e1", 1, "x")
	want(t, p.Process(context.Background(), ev, (&counter{}).handle), handler.Applied)
	if _, err := p.Store().Get(context.Background(), "h/"+ev.Key(), time.Now()); err != nil {
		t.Errorf("record not under the handler's prefix: %v", err)
	}

	t.Setenv(handler.EnvDedupStore, "firestore://x")
	if _, err := handler.FromEnv(context.Background(), handler.Options{}); err == nil || !strings.Contains(err.Error(), "no dedup store driver") {
		t.Errorf("unregistered scheme: err = %v; want no dedup store driver", err)
	}
}

// TestFromEnvResolvesGrantedTable: a StateTable named by its grant writes where
// THREEFACTOR_TABLE_<NAME> says the table is.
func TestFromEnvResolvesGrantedTable(t *testing.T) {
	ctx := context.Background()
	t.Setenv(handler.EnvDedupStore, "mem://")
	t.Setenv(handler.EnvTablePrefix+"ORDERS", "mem://orders-prod")
	p, err := handler.FromEnv(ctx, handler.Options{Mode: handler.Transactional, StateTable: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Process(ctx, handler.Event{Source: "/orders", ID: "e1", CloudEvent: true, Sequence: "1", Data: []byte("placed")},
		func(context.Context, handler.Event) (handler.Effect, error) {
			return handler.Effect{State: &handler.StateWrite{Key: "order-1", Attributes: map[string]any{"status": "placed"}}}, nil
		})
	if r.Outcome != handler.Applied {
		t.Fatalf("outcome %v, err %v", r.Outcome, r.Err)
	}
	if st, err := p.Store().GetState(ctx, "orders-prod", "order-1"); err != nil || st == nil {
		t.Errorf("state in the granted table: %v, %v", st, err)
	}
	if st, _ := p.Store().GetState(ctx, "orders", "order-1"); st != nil {
		t.Errorf("state written under the grant's name instead of the table: %v", st)
	}
}

func TestResolveTableUnset(t *testing.T) {
	t.Setenv(handler.EnvDedupStore, "mem://")
	p, err := handler.FromEnv(context.Background(), handler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = handler.ResolveTable(p.Store(), "audit_log")
	if err == nil || !strings.Contains(err.Error(), "THREEFACTOR_TABLE_AUDIT_LOG is not set") || !strings.Contains(err.Error(), "function.tables") {
		t.Errorf("ResolveTable of an ungranted table: %v; want an error naming the variable and function.tables", err)
	}
}

func TestConfigFromEnvOutcomeLog(t *testing.T) {
	t.Setenv(handler.EnvDedupStore, "mem://")
	t.Setenv(handler.EnvOutcomeLog, "stderr")
	if c, err := handler.ConfigFromEnv(); err != nil || !c.OutcomeLog {
		t.Errorf("ConfigFromEnv = %+v, %v; want OutcomeLog on", c, err)
	}
	t.Setenv(handler.EnvOutcomeLog, "stdout")
	if _, err := handler.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), handler.EnvOutcomeLog) || !strings.Contains(err.Error(), "stderr") {
		t.Errorf("bad outcome log: err = %v; want one naming %s and its one value", err, handler.EnvOutcomeLog)
	}
}
