package cosmosstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore/cosmostest"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
	"github.com/threefactor/terraform-provider-threefactor/handler/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cosmostest.StopShared()
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	emu := cosmostest.Shared(t)
	storetest.RunConformanceTests(t, storetest.WithItems{
		HarnessFunc: func(t *testing.T) (store.Store, string) {
			return emu.Store(t), "orders"
		},
		// Other code's write: a whole item, with the id, partition key and
		// ttl the package doc asks for.
		Write: func(t *testing.T, s store.Store, table, key string, item map[string]any) {
			data := map[string]any{"id": cosmosstore.EntityID(key), "pk": cosmosstore.EntityPK(table, key), "ttl": -1}
			for k, v := range item {
				data[k] = v
			}
			body, err := json.Marshal(data)
			if err != nil {
				t.Fatal(err)
			}
			c := s.(*cosmosstore.Store).Container()
			if _, err := c.UpsertItem(context.Background(), azcosmos.NewPartitionKeyString(cosmosstore.EntityPK(table, key)), body, nil); err != nil {
				t.Fatalf("writing %s around the store: %v", key, err)
			}
		},
	})
}

// The URL the provider injects opens a working store: the endpoint from the
// host, THREEFACTOR_COSMOS_KEY and SSL_CERT_FILE (set by Shared) for the
// emulator.
func TestOpenFromURL(t *testing.T) {
	emu := cosmostest.Shared(t)
	raw := emu.URL(emu.Database(t))
	s, err := store.Open(context.Background(), raw)
	if err != nil {
		t.Fatalf("store.Open(%q): %v", raw, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	now := time.Now()
	key := "orders/ce/%2Fshop/e-1?#\\"
	rec := store.Record{Key: key, Status: store.InProgress, Token: "t", ExpiresAt: now.Add(time.Hour), ClaimExpiresAt: now.Add(time.Minute)}
	if _, err := s.Claim(context.Background(), rec, now); err != nil {
		t.Fatalf("Claim through the opened store: %v", err)
	}
	if got, err := s.Get(context.Background(), key, now); err != nil || got.Token != "t" {
		t.Fatalf("Get = %+v, %v; want the claim", got, err)
	}
	// The record carries a ttl beyond its expiry, so that Cosmos deletes
	// it after it stops counting and never before.
	c := s.(*cosmosstore.Store).Container()
	resp, err := c.ReadItem(context.Background(), azcosmos.NewPartitionKeyString(cosmosstore.RecordPK(key)), cosmosstore.RecordID(key), nil)
	if err != nil {
		t.Fatalf("reading the record back: %v", err)
	}
	var item struct {
		TTL int64  `json:"ttl"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal(resp.Value, &item); err != nil {
		t.Fatal(err)
	}
	if item.Key != key || item.TTL < 3600 || item.TTL > 3600+120 {
		t.Errorf("record item = %+v; want key %q and ttl a little over 3600", item, key)
	}
}

// A Transactional commit keeps the record in the entity's partition, with
// the entity (ttl -1, so the container's DefaultTTL never deletes it); Get
// finds the record there.
func TestCommitColocatesRecordAndEntity(t *testing.T) {
	s := cosmostest.Shared(t).Store(t)
	ctx := context.Background()
	now := time.Now()
	rec := store.Record{Key: "h/ce/shop/e-7", Status: store.Completed, Token: "t", ExpiresAt: now.Add(time.Hour), Result: []byte("ok")}
	w := &store.StateWrite{Table: "orders", Key: "order/7", Version: 1, Event: "shop e-7", Attributes: map[string]any{"status": "placed"}}
	if _, err := s.Commit(ctx, rec, now, w); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	pk := azcosmos.NewPartitionKeyString(cosmosstore.EntityPK("orders", "order/7"))
	if _, err := s.Container().ReadItem(ctx, pk, cosmosstore.RecordID(rec.Key), nil); err != nil {
		t.Errorf("the record is not in the entity's partition: %v", err)
	}
	resp, err := s.Container().ReadItem(ctx, pk, cosmosstore.EntityID("order/7"), nil)
	if err != nil {
		t.Fatalf("reading the entity: %v", err)
	}
	var ent map[string]any
	if err := json.Unmarshal(resp.Value, &ent); err != nil {
		t.Fatal(err)
	}
	if ent["ttl"] != float64(-1) || ent["status"] != "placed" {
		t.Errorf("entity item = %v; want ttl -1 and status placed", ent)
	}
	got, err := s.Get(ctx, rec.Key, now)
	if err != nil || string(got.Result) != "ok" {
		t.Errorf("Get = %+v, %v; want the committed record", got, err)
	}
	if _, err := s.Get(ctx, rec.Key, now.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get at expiry err = %v; want ErrNotFound", err)
	}
}

func TestParseURL(t *testing.T) {
	u, _ := url.Parse("cosmos://acct.documents.azure.com/threefactor/orders-dedup")
	e, d, c, err := cosmosstore.ParseURL(u)
	if err != nil || e != "https://acct.documents.azure.com/" || d != "threefactor" || c != "orders-dedup" {
		t.Errorf("ParseURL = %s %s %s, %v", e, d, c, err)
	}
	for _, raw := range []string{
		"cosmos://acct.documents.azure.com/db",
		"cosmos://acct.documents.azure.com/db/c/x",
		"cosmos:///db/c",
		"cosmos://acct.documents.azure.com//c",
	} {
		if _, err := store.Open(context.Background(), raw); err == nil {
			t.Errorf("store.Open(%q) succeeded; want an error", raw)
		}
	}
}

func TestIDs(t *testing.T) {
	for key, want := range map[string]string{
		"order-7":     "order-7",
		"order/7":     "b64.b3JkZXIvNw",
		"dedup.x":     "b64.ZGVkdXAueA",
		"a?b#c\\d%2F": "b64.YT9iI2NcZCUyRg",
	} {
		if got := cosmosstore.EntityID(key); got != want {
			t.Errorf("EntityID(%q) = %q; want %q", key, got, want)
		}
	}
	if got := cosmosstore.RecordID("order-7"); got != "dedup.order-7" {
		t.Errorf("RecordID = %q", got)
	}
	long := cosmosstore.EntityID(string(make([]byte, 500)))
	if len(long) > 255 {
		t.Errorf("EntityID of a long key has %d bytes; Cosmos allows 255", len(long))
	}
}

// Cosmos keeps numbers as doubles: a version it would round is refused.
func TestVersionBeyondDoublePrecisionIsRefused(t *testing.T) {
	s := cosmostest.Shared(t).Store(t)
	w := store.StateWrite{Table: "orders", Key: "o-1", Version: 1<<53 + 1, Event: "e"}
	if err := s.PutState(context.Background(), w); err == nil || errors.Is(err, store.ErrStale) {
		t.Errorf("PutState(version 2^53+1) err = %v; want a refusal that is not Stale", err)
	}
	w.Version = 1 << 53
	if err := s.PutState(context.Background(), w); err != nil {
		t.Fatalf("PutState(version 2^53): %v", err)
	}
	if st, err := s.GetState(context.Background(), "orders", "o-1"); err != nil || st.Version != 1<<53 {
		t.Errorf("GetState = %+v, %v; want version 2^53 exactly", st, err)
	}
}

// A table granted through function.tables is a container of its own: the
// store resolves THREEFACTOR_TABLE_<NAME> to it, ClaimComplete's and
// SingleWrite's state writes go there under the table's own partition key,
// and Commit refuses it, saying why.
func TestGrantedTable(t *testing.T) {
	emu := cosmostest.Shared(t)
	ctx := context.Background()
	db := emu.Database(t)
	client := emu.Client(t)
	database, err := client.NewDatabase(db)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{"orders": "/id", "shipments": "/order_id"} {
		if _, err := database.CreateContainer(ctx, azcosmos.ContainerProperties{ID: name, PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{key}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	dedup, err := client.NewContainer(db, cosmostest.Container)
	if err != nil {
		t.Fatal(err)
	}
	s := cosmosstore.New(dedup, cosmosstore.Options{OpenClient: func(string) (*azcosmos.Client, error) { return client, nil }})
	for container, keyField := range map[string]string{"orders": "id", "shipments": "order_id"} {
		u, _ := url.Parse("cosmos://" + emu.Host + "/" + db + "/" + container)
		table, err := s.StateTable(u)
		if err != nil {
			t.Fatal(err)
		}
		w := store.StateWrite{Table: table, Key: "order-1", Version: 2, Event: "shop/e-2", Attributes: map[string]any{"status": "paid", "ttl": 3600}}
		if err := s.PutState(ctx, w); err != nil {
			t.Fatalf("%s: PutState: %v", container, err)
		}
		got, err := s.GetState(ctx, table, "order-1")
		if err != nil || got.Version != 2 || got.Attributes["status"] != "paid" || got.Attributes["ttl"] != float64(3600) {
			t.Errorf("%s: GetState = %+v, %v", container, got, err)
		}
		c, _ := client.NewContainer(db, container)
		resp, err := c.ReadItem(ctx, azcosmos.NewPartitionKeyString("order-1"), "order-1", nil)
		if err != nil {
			t.Fatalf("%s: the item is not under its key in the table: %v", container, err)
		}
		var item map[string]any
		_ = json.Unmarshal(resp.Value, &item)
		if item[keyField] != "order-1" || item["pk"] != nil {
			t.Errorf("%s: item %v: want %s = order-1 and no pk", container, item, keyField)
		}
		older := w
		older.Version, older.Event = 1, "shop/e-1"
		if err := s.PutStateOnce(ctx, older); !errors.Is(err, store.ErrStale) {
			t.Errorf("%s: PutStateOnce of an older version: %v, want ErrStale", container, err)
		}
		bad := w
		bad.Attributes = map[string]any{keyField: "x"}
		if err := s.PutState(ctx, bad); err == nil {
			t.Errorf("%s: a write of the key attribute %q was accepted", container, keyField)
		}
		now := time.Now()
		rec := store.Record{Key: "granted/ce/shop/e-3", Status: store.Completed, Token: "t", ExpiresAt: now.Add(time.Hour)}
		if _, err := s.Commit(ctx, rec, now, &w); err == nil || !strings.Contains(err.Error(), "use ClaimComplete or SingleWrite") {
			t.Errorf("%s: Commit with a granted table: %v, want a refusal naming the modes that work", container, err)
		}
	}
	if _, err := s.StateTable(&url.URL{Scheme: "dynamodb", Host: "orders"}); err == nil {
		t.Error("StateTable accepted a dynamodb:// table")
	}
}

// The store the dedup URL opens resolves a granted table from
// THREEFACTOR_TABLE_<NAME> and reaches it with its own credentials.
func TestGrantedTableFromEnv(t *testing.T) {
	emu := cosmostest.Shared(t)
	ctx := context.Background()
	db := emu.Database(t)
	database, err := emu.Client(t).NewDatabase(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := database.CreateContainer(ctx, azcosmos.ContainerProperties{ID: "orders", PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/id"}}}, nil); err != nil {
		t.Fatal(err)
	}
	t.Setenv("THREEFACTOR_TABLE_ORDERS", "cosmos://"+emu.Host+"/"+db+"/orders")
	s, err := store.Open(ctx, emu.URL(db))
	if err != nil {
		t.Fatal(err)
	}
	table, err := handler.ResolveTable(s, "orders")
	if err != nil {
		t.Fatalf("ResolveTable: %v", err)
	}
	if err := s.PutState(ctx, store.StateWrite{Table: table, Key: "order-7", Version: 1}); err != nil {
		t.Fatalf("PutState to the granted table: %v", err)
	}
	if got, err := s.GetState(ctx, table, "order-7"); err != nil || got.Version != 1 {
		t.Errorf("GetState = %+v, %v", got, err)
	}
}
