package plumbing_test

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// owned is a cloud where the queue carries two private keys and the subscription one.
var owned = plumbing.OwnedKeys{
	driver.Queue:        {"queue_source", "queue_prev"},
	driver.Subscription: {"topic_source"},
}

func TestLedgerConcurrentSets(t *testing.T) {
	in := driver.State{"identity": "role"}
	l := plumbing.NewLedger(in, owned)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			k := fmt.Sprint("k", i)
			l.Set(k, "v")
			if got := l.Get(k); got != "v" {
				t.Errorf("Get(%s) = %q right after Set, want v", k, got)
			}
			_ = l.Snapshot()
		})
	}
	wg.Wait()
	got := l.Snapshot()
	if len(got) != 65 {
		t.Errorf("after 64 concurrent sets on a state of 1: %d keys, want 65", len(got))
	}
	if len(in) != 1 {
		t.Errorf("the ledger changed the state it started from: %v", in)
	}
	got["identity"] = "changed"
	if l.Get("identity") != "role" {
		t.Error("changing a snapshot changed the ledger")
	}
	l.Set("identity", "")
	if _, ok := l.Snapshot()["identity"]; ok {
		t.Error("Set to \"\" left the key in place")
	}
}

func TestLedgerForgetsOwnedKeys(t *testing.T) {
	st := driver.State{
		"queue": "q", "queue_source": "src", "queue_prev": "30",
		"subscription": "s", "topic_source": "t",
		"function": "f", "unowned": "x",
	}
	l := plumbing.NewLedger(st, owned)
	l.Forget(driver.Queue)
	want := []string{"function", "subscription", "topic_source", "unowned"}
	if got := slices.Sorted(maps.Keys(l.Snapshot())); !slices.Equal(got, want) {
		t.Errorf("after Forget(queue): keys %v, want %v", got, want)
	}
	l.Forget(driver.Function)
	l.Forget(driver.Subscription)
	if got := l.Snapshot(); !maps.Equal(got, driver.State{"unowned": "x"}) {
		t.Errorf("after forgetting all components: %v, want only the unowned key", got)
	}

	plain := st.Clone()
	owned.Forget(plain, driver.Subscription)
	if plain.Has(driver.Subscription) || plain["topic_source"] != "" || plain["queue_source"] != "src" {
		t.Errorf("OwnedKeys.Forget(subscription) left %v", plain)
	}
}

func TestSortComponents(t *testing.T) {
	order := []driver.Component{driver.Identity, driver.Queue, driver.Function}
	got := plumbing.SortComponents([]driver.Component{driver.Function, driver.Identity, driver.Queue}, order)
	if !slices.Equal(got, order) {
		t.Errorf("sorted %v, want %v", got, order)
	}
	// Another cloud's order, not the package-wide one.
	rev := []driver.Component{driver.Function, driver.Queue, driver.Identity}
	if got := plumbing.SortComponents(got, rev); !slices.Equal(got, rev) {
		t.Errorf("sorted by the reverse order: %v, want %v", got, rev)
	}
}
