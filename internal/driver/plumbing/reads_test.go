package plumbing

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

func TestReads(t *testing.T) {
	st := driver.State{"identity": "role", "queue": "q", "function": "f"}
	order := []driver.Component{driver.Identity, driver.Queue, driver.Function, driver.Topic}
	var calls atomic.Int32
	r := NewReads(st)
	r.Add(driver.Function, func(string) (bool, error) { calls.Add(1); return false, nil })
	r.Add(driver.Topic, func(string) (bool, error) { t.Error("read of a component the state does not record"); return true, nil })
	r.Add(driver.Queue, func(id string) (bool, error) {
		calls.Add(1)
		if id != "q" {
			t.Errorf("read of queue got id %q", id)
		}
		return false, nil
	})
	r.Add(driver.Identity, func(string) (bool, error) { calls.Add(1); return true, nil })
	missing, err := r.Run(order)
	if err != nil || !slices.Equal(missing, []driver.Component{driver.Queue, driver.Function}) || calls.Load() != 3 {
		t.Errorf("Run = %v, %v after %d reads; want queue and function missing, in order, after 3", missing, err, calls.Load())
	}

	boom := errors.New("boom")
	r = NewReads(st)
	r.Add(driver.Queue, func(string) (bool, error) { return false, boom })
	if missing, err := r.Run(order); !errors.Is(err, boom) || len(missing) != 0 {
		t.Errorf("a failed read: Run = %v, %v; want the error and nothing reported missing", missing, err)
	}
}
