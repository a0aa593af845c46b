package gcpfunctions

import (
	"context"

	"github.com/googleapis/gax-go/v2"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// operation is a long-running operation of any Google API client.
type operation[T any] interface {
	Poll(ctx context.Context, opts ...gax.CallOption) (T, error)
	Done() bool
}

// wait polls op until it is done, with the plumbing's short backoff rather than the clients' own
// Wait (which first waits a second), and returns its result or the error it ended with.
func wait[T any](ctx context.Context, op operation[T], retry gax.CallOption) (T, error) {
	var out T
	err := plumbing.Poll(ctx, func() (bool, error) {
		r, err := op.Poll(ctx, retry)
		out = r
		return op.Done(), err
	})
	return out, err
}

// result adapts an operation whose Poll returns only an error.
type result[T interface {
	Poll(context.Context, ...gax.CallOption) error
	Done() bool
}] struct{ op T }

func (r result[T]) Poll(ctx context.Context, opts ...gax.CallOption) (struct{}, error) {
	return struct{}{}, r.op.Poll(ctx, opts...)
}

func (r result[T]) Done() bool { return r.op.Done() }
