package memstore_test

import (
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
	"github.com/threefactor/terraform-provider-threefactor/handler/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, storetest.WithItems{
		HarnessFunc: func(*testing.T) (store.Store, string) { return memstore.New(), "state" },
		Write: func(_ *testing.T, s store.Store, table, key string, item map[string]any) {
			s.(*memstore.Store).WriteItem(table, key, item)
		},
	})
}
