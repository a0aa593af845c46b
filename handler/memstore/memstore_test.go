package memstore_test

import (
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/handler/memstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
	"github.com/threefactor/terraform-provider-threefactor/handler/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, storetest.HarnessFunc(func(*testing.T) (store.Store, string) {
		return memstore.New(), "state"
	}))
}
