package awslambda

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

func TestPollNew(t *testing.T) {
	notFound := &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Function not found"}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException"}
	ctx := context.Background()

	// A new resource that reads as missing twice, then as ready.
	calls := 0
	err := pollNew(ctx, time.Minute, func() (bool, error) {
		calls++
		if calls <= 2 {
			return false, notFound
		}
		return true, nil
	})
	if err != nil || calls != 3 {
		t.Errorf("lagging read: %v after %d calls, want success after 3", err, calls)
	}

	// Past the grace, missing means missing.
	calls = 0
	err = pollNew(ctx, 120*time.Millisecond, func() (bool, error) { calls++; return false, notFound })
	if !errors.Is(err, notFound) || calls < 2 {
		t.Errorf("still missing after the grace: %v after %d calls, want the not-found error after several", err, calls)
	}

	// Any other error ends the wait at once.
	calls = 0
	err = pollNew(ctx, time.Minute, func() (bool, error) { calls++; return false, denied })
	if !errors.Is(err, denied) || calls != 1 {
		t.Errorf("refused read: %v after %d calls, want the error after 1", err, calls)
	}
}
