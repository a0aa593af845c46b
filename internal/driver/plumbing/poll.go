package plumbing

import (
	"context"
	"time"
)

// Poll's backoff: the first wait, and the longest.
const (
	pollFirstWait = 50 * time.Millisecond
	pollMaxWait   = 2 * time.Second
)

// RetryWhile calls f until it succeeds, fails with an error retryable does not accept, or limit (or
// ctx) runs out; the last error of f escapes. It is for the waits on eventual consistency the cloud
// documents (a new identity that cannot be used yet, a name that cannot be reused yet).
func RetryWhile(ctx context.Context, limit time.Duration, retryable func(error) bool, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var err error
	_ = Poll(ctx, func() (bool, error) {
		err = f()
		return err == nil || !retryable(err), nil
	})
	return err
}

// Poll calls f until it reports done or fails, backing off from 50 ms to 2 s between calls; it
// returns ctx's error as soon as ctx ends, without waiting out a backoff.
func Poll(ctx context.Context, f func() (bool, error)) error {
	wait := pollFirstWait
	for {
		done, err := f()
		if done || err != nil {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, pollMaxWait)
	}
}

// PollNew is Poll for a component a call has just created or updated: for grace from the start, an
// error notFound accepts is a read that has not caught up yet (the call succeeded, so the component
// exists), and polling goes on. After grace it ends the poll like any other error.
func PollNew(ctx context.Context, grace time.Duration, notFound func(error) bool, f func() (bool, error)) error {
	start := time.Now()
	return Poll(ctx, func() (bool, error) {
		done, err := f()
		if err != nil && notFound(err) && time.Since(start) < grace {
			return false, nil
		}
		return done, err
	})
}
