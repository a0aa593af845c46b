package plumbing_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

func TestConcurrentlyRunsAllAndJoinsErrors(t *testing.T) {
	errA, errB := errors.New("a failed"), errors.New("b failed")
	// Every function waits until all have started: they can only finish if they run at once.
	var started sync.WaitGroup
	started.Add(4)
	barrier := func() bool {
		started.Done()
		done := make(chan struct{})
		go func() { started.Wait(); close(done) }()
		select {
		case <-done:
			return true
		case <-time.After(5 * time.Second):
			return false
		}
	}
	var finished atomic.Int32
	run := func(err error) func() error {
		return func() error {
			if !barrier() {
				return errors.New("not run concurrently")
			}
			if err == nil {
				time.Sleep(20 * time.Millisecond) // still running when the others have failed
			}
			finished.Add(1)
			return err
		}
	}
	err := plumbing.Concurrently(run(errA), run(nil), run(errB), run(nil))
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Errorf("Concurrently = %v, want both failures joined", err)
	}
	if n := finished.Load(); n != 4 {
		t.Errorf("%d of 4 functions finished, want all: none is cancelled by another's failure", n)
	}
	if err := plumbing.Concurrently(); err != nil {
		t.Errorf("Concurrently() = %v, want nil", err)
	}
}
