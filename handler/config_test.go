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
