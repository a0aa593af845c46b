package cosmosstore_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/cosmosstore/cosmostest"
)

// counter counts the item requests a client sends: reads, creates,
// replaces, deletes, batches and queries.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	if strings.Contains(r.URL.Path, "/docs") {
		kind := map[string]string{http.MethodGet: "read", http.MethodPut: "replace", http.MethodDelete: "delete", http.MethodPatch: "patch"}[r.Method]
		if r.Method == http.MethodPost {
			switch {
			case r.Header.Get("x-ms-cosmos-is-batch-request") != "":
				kind = "batch"
			case r.Header.Get("x-ms-documentdb-isquery") != "" || strings.HasPrefix(r.Header.Get("Content-Type"), "application/query+json"):
				kind = "query"
			default:
				kind = "create"
			}
		}
		c.mu.Lock()
		c.n[kind]++
		c.mu.Unlock()
	}
	return req.Next()
}

func (c *counter) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, k := range []string{"read", "create", "replace", "delete", "batch", "query", "patch"} {
		if c.n[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n[k], k))
		}
	}
	c.n = map[string]int{}
	return strings.Join(parts, ", ")
}

// The requests per event the package doc lists, counted on the wire.
func TestRequestsPerEvent(t *testing.T) {
	emu := cosmostest.Shared(t)
	cnt := &counter{n: map[string]int{}}
	opts := emu.ClientOptions()
	opts.PerRetryPolicies = append(opts.PerRetryPolicies, cnt)
	cred, err := azcosmos.NewKeyCredential(cosmostest.Key)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azcosmos.NewClientWithKey(emu.Endpoint(), cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	fn := func(_ context.Context, ev handler.Event) (handler.Effect, error) {
		return handler.Effect{State: &handler.StateWrite{Key: "o-1", Attributes: map[string]any{"status": string(ev.Data)}}}, nil
	}
	for _, tc := range []struct {
		mode             handler.Mode
		first, duplicate string
	}{
		{handler.ClaimComplete, "2 read, 2 create, 1 replace", "1 read, 1 create"},
		{handler.Transactional, "2 read, 1 batch", "1 read"},
		{handler.SingleWrite, "1 read, 1 create", "1 read"},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			c, err := client.NewContainer(emu.Database(t), cosmostest.Container)
			if err != nil {
				t.Fatal(err)
			}
			p := handler.New(cosmosstore.New(c, cosmosstore.Options{}), handler.Options{Mode: tc.mode, StateTable: "orders"})
			ev := handler.Event{Source: "/shop", ID: "e-1", CloudEvent: true, Sequence: "1", Data: []byte("placed"), MessageID: "m-1"}
			_ = cnt.take()
			if res := p.Process(context.Background(), ev, fn); res.Outcome != handler.Applied {
				t.Fatalf("first delivery: %v, %v", res.Outcome, res.Err)
			}
			if got := cnt.take(); got != tc.first {
				t.Errorf("first delivery: %s; want %s", got, tc.first)
			}
			res := p.Process(context.Background(), ev, fn)
			if res.Outcome != handler.Duplicate {
				t.Fatalf("duplicate: %v, %v", res.Outcome, res.Err)
			}
			if got := cnt.take(); got != tc.duplicate {
				t.Errorf("duplicate: %s; want %s", got, tc.duplicate)
			}
		})
	}
}
