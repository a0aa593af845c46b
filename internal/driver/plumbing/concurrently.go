package plumbing

import (
	"errors"
	"sync"
)

// Concurrently runs fs at once and waits for all of them. None is cancelled when another fails, so
// every create that succeeds gets recorded; it returns their errors joined, in the order of fs.
func Concurrently(fs ...func() error) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	return errors.Join(errs...)
}
