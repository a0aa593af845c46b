package plumbing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

var (
	errNotFound = errors.New("not found")
	errDenied   = errors.New("denied")
	errBusy     = errors.New("busy")
)

func isNotFound(err error) bool { return errors.Is(err, errNotFound) }

func TestPollBacksOffAndEndsAtDeadline(t *testing.T) {
	const deadline = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	calls := 0
	start := time.Now()
	err := plumbing.Poll(ctx, func() (bool, error) { calls++; return false, nil })
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Poll = %v, want the context's deadline error", err)
	}
	// Waits of 50, 100, 200, 400 ms put calls at 0, 50, 150, 350 and 750 ms, the next at 1550 ms:
	// a fixed 50 ms would make 20 calls.
	if calls < 3 || calls > 6 {
		t.Errorf("%d calls within %v, want about 5 with the backoff doubling from 50 ms", calls, deadline)
	}
	// It returns at the deadline, not at the end of the backoff it was in (1550 ms).
	if elapsed > deadline+400*time.Millisecond {
		t.Errorf("Poll returned after %v, want about %v", elapsed, deadline)
	}

	calls = 0
	err = plumbing.Poll(context.Background(), func() (bool, error) { calls++; return calls == 3, nil })
	if err != nil || calls != 3 {
		t.Errorf("Poll done on the third call: %v after %d calls", err, calls)
	}
	calls = 0
	err = plumbing.Poll(context.Background(), func() (bool, error) { calls++; return false, errDenied })
	if !errors.Is(err, errDenied) || calls != 1 {
		t.Errorf("Poll failing at once: %v after %d calls, want the error after 1", err, calls)
	}
}

func TestPollNewGrace(t *testing.T) {
	ctx := context.Background()

	// A new component that reads as missing twice, then as ready.
	calls := 0
	err := plumbing.PollNew(ctx, time.Minute, isNotFound, func() (bool, error) {
		calls++
		if calls <= 2 {
			return false, errNotFound
		}
		return true, nil
	})
	if err != nil || calls != 3 {
		t.Errorf("lagging read: %v after %d calls, want success after 3", err, calls)
	}

	// Past the grace, missing means missing.
	calls = 0
	err = plumbing.PollNew(ctx, 120*time.Millisecond, isNotFound, func() (bool, error) { calls++; return false, errNotFound })
	if !errors.Is(err, errNotFound) || calls < 2 {
		t.Errorf("still missing after the grace: %v after %d calls, want the not-found error after several", err, calls)
	}

	// Any other error ends the wait at once.
	calls = 0
	err = plumbing.PollNew(ctx, time.Minute, isNotFound, func() (bool, error) { calls++; return false, errDenied })
	if !errors.Is(err, errDenied) || calls != 1 {
		t.Errorf("refused read: %v after %d calls, want the error after 1", err, calls)
	}
}

func TestRetryWhile(t *testing.T) {
	ctx := context.Background()
	busy := func(err error) bool { return errors.Is(err, errBusy) }

	// Retryable twice, then a failure that is not: that one escapes, with no further call.
	calls := 0
	err := plumbing.RetryWhile(ctx, time.Minute, busy, func() error {
		calls++
		if calls <= 2 {
			return errBusy
		}
		return errDenied
	})
	if !errors.Is(err, errDenied) || calls != 3 {
		t.Errorf("RetryWhile = %v after %d calls, want the non-retryable error after 3", err, calls)
	}

	calls = 0
	err = plumbing.RetryWhile(ctx, time.Minute, busy, func() error {
		calls++
		if calls == 1 {
			return errBusy
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("RetryWhile = %v after %d calls, want success after 2", err, calls)
	}

	// Retryable until the limit: the last error escapes when the limit ends.
	calls = 0
	start := time.Now()
	err = plumbing.RetryWhile(ctx, 200*time.Millisecond, busy, func() error { calls++; return errBusy })
	if !errors.Is(err, errBusy) || calls < 2 || time.Since(start) > time.Second {
		t.Errorf("RetryWhile past its limit = %v after %d calls in %v, want the retryable error after several within about 200 ms",
			err, calls, time.Since(start))
	}
}
