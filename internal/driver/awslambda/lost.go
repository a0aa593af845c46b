package awslambda

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// A create whose response is lost (the connection drops after AWS acted) is retried by the SDK, and
// the retry meets what the first attempt made: "already exists". IAM, DynamoDB and Lambda take no
// idempotency token, so the driver notes whether an attempt may have taken effect unanswered and, if
// one did, takes the existing component as its own when its tags name this handler. Without that the
// apply would fail and leave a component no state knows.

type actedKey struct{}

// trackActed returns ctx, under which the driver's SDK calls set the returned flag when an attempt
// may have taken effect without its answer arriving.
func trackActed(ctx context.Context) (context.Context, *atomic.Bool) {
	acted := new(atomic.Bool)
	return context.WithValue(ctx, actedKey{}, acted), acted
}

// recordActed runs once per attempt (it sits inside the SDK's retry loop): a transport error or a
// 5xx may answer a request that AWS carried out.
func recordActed(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("threefactorRecordActed",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleFinalize(ctx, in)
			if acted, ok := ctx.Value(actedKey{}).(*atomic.Bool); ok && mayHaveActed(err) {
				acted.Store(true)
			}
			return out, md, err
		}), "Retry", middleware.After)
}

func mayHaveActed(err error) bool {
	var send *smithyhttp.RequestSendError
	var resp *smithyhttp.ResponseError
	return errors.As(err, &send) || errors.As(err, &resp) && resp.HTTPStatusCode() >= 500
}

// ownRetry reports whether err is an "already exists" that an earlier attempt of the same call,
// flagged in acted, may have caused.
func ownRetry(err error, acted *atomic.Bool) bool {
	return acted.Load() && (codeOf(err) == driver.AlreadyExists || isConflict(err))
}

// isConflict reports Lambda's ResourceConflictException, which its create calls return for "exists
// already" (and other calls for "an update is in progress", so it is not mapped to AlreadyExists).
func isConflict(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceConflictException"
}

// createFailed wraps the error of a create, naming Lambda's conflicts for what they are there.
func createFailed(c driver.Component, id string, err error) error {
	if isConflict(err) {
		return driver.Errorf(c, "creating", id, driver.AlreadyExists, err)
	}
	return fail(c, "creating", id, err)
}
