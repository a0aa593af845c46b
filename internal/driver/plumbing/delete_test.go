package plumbing_test

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

func TestDeleteRoundsContinueAfterAFailure(t *testing.T) {
	st := driver.State{
		"mapping": "m", "subscription": "s", "topic_source": "t",
		"function": "f", "queue": "q", "queue_source": "src", "queue_prev": "30",
		"identity": "r", "dead_letter": "d",
	}
	refused := errors.New("refused")
	var mu sync.Mutex
	var deleted []string // ids in the order their deletions finished
	var round []int      // the round of each
	del := func(n int, err error) func(string) error {
		return func(id string) error {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				return err
			}
			deleted = append(deleted, id)
			round = append(round, n)
			return nil
		}
	}
	left, err := plumbing.DeleteRounds(st, owned,
		plumbing.Round{driver.Mapping: del(1, nil), driver.Subscription: del(1, nil)},
		plumbing.Round{driver.Function: del(2, nil), driver.Queue: del(2, refused), driver.Topic: del(2, nil)},
		plumbing.Round{driver.Identity: del(3, nil), driver.DeadLetter: del(3, nil), driver.DedupTable: del(3, nil)},
	)
	if !errors.Is(err, refused) {
		t.Errorf("DeleteRounds = %v, want the queue's failure", err)
	}
	// What could not go stays, with the keys it owns; the rest, with theirs, is forgotten.
	if want := (driver.State{"queue": "q", "queue_source": "src", "queue_prev": "30"}); !maps.Equal(left, want) {
		t.Errorf("state left %v, want %v", left, want)
	}
	// Only recorded components are deleted (no topic, no table), each once, round after round.
	if want := []string{"d", "f", "m", "r", "s"}; !slices.Equal(slices.Sorted(slices.Values(deleted)), want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	if !slices.IsSorted(round) {
		t.Errorf("rounds finished in the order %v, want each after the one before", round)
	}
	if st["mapping"] != "m" {
		t.Error("DeleteRounds changed the state it was given")
	}

	left, err = plumbing.DeleteRounds(driver.State{"identity": "r"}, owned, plumbing.Round{driver.Identity: del(1, nil)})
	if err != nil || len(left) != 0 {
		t.Errorf("deleting everything: %v left, %v; want nothing and no error", left, err)
	}
}
