package awslambda

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// errorCodes maps the error codes of the services the driver calls to portable codes.
var errorCodes = map[string]driver.ErrorCode{
	// iam
	"NoSuchEntity":            driver.NotFound,
	"EntityAlreadyExists":     driver.AlreadyExists,
	"MalformedPolicyDocument": driver.InvalidArgument,
	"ValidationError":         driver.InvalidArgument,
	"AccessDenied":            driver.PermissionDenied,
	"InvalidClientTokenId":    driver.PermissionDenied,
	// lambda, logs, dynamodb, kms
	"ResourceNotFoundException":      driver.NotFound,
	"NotFoundException":              driver.NotFound,
	"ResourceAlreadyExistsException": driver.AlreadyExists,
	"ResourceInUseException":         driver.AlreadyExists,
	"InvalidParameterValueException": driver.InvalidArgument,
	"InvalidParameterException":      driver.InvalidArgument,
	"ValidationException":            driver.InvalidArgument,
	"AccessDeniedException":          driver.PermissionDenied,
	"UnrecognizedClientException":    driver.PermissionDenied,
	"ExpiredTokenException":          driver.PermissionDenied,
	// sqs (JSON protocol codes and their query-protocol aliases)
	"QueueDoesNotExist":                       driver.NotFound,
	"AWS.SimpleQueueService.NonExistentQueue": driver.NotFound,
	"QueueNameExists":                         driver.AlreadyExists,
	"QueueAlreadyExists":                      driver.AlreadyExists,
	"InvalidAttributeValue":                   driver.InvalidArgument,
	"InvalidAttributeName":                    driver.InvalidArgument,
	"InvalidParameterValue":                   driver.InvalidArgument,
	// sns
	"NotFound":           driver.NotFound,
	"InvalidParameter":   driver.InvalidArgument,
	"AuthorizationError": driver.PermissionDenied,
}

func codeOf(err error) driver.ErrorCode {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return errorCodes[ae.ErrorCode()]
	}
	return driver.Unknown
}

func isNotFound(err error) bool { return codeOf(err) == driver.NotFound }

// fail wraps err once as the failure of action on component c (id names it).
func fail(c driver.Component, action, id string, err error) error {
	return driver.Errorf(c, action, id, codeOf(err), err)
}

// isPropagating reports the errors Lambda returns while a new role, or its policy, has not reached
// every IAM endpoint yet; hashicorp/aws retries the same messages.
func isPropagating(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValueException" {
		return false
	}
	m := ae.ErrorMessage()
	return strings.Contains(m, "cannot be assumed") || strings.Contains(m, "does not have permissions") ||
		strings.Contains(m, "not authorized to perform")
}

// isQueueDeletedRecently reports SQS's refusal to reuse a queue name within 60 s of its deletion.
func isQueueDeletedRecently(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "QueueDeletedRecently")
}

// Bounds of the waits for eventual consistency, within the caller's deadline.
const (
	propagationTimeout = 2 * time.Minute
	queueReuseTimeout  = 70 * time.Second
	// newResourceGrace bounds how long a wait on a resource a call has just created or updated takes
	// "not found" for a read that has not caught up yet: the call succeeded, so the resource exists.
	newResourceGrace = 30 * time.Second
)

// retryWhile calls f until it succeeds, fails with an error retryable does not accept, or limit (or
// ctx) runs out; the last error escapes.
func retryWhile(ctx context.Context, limit time.Duration, retryable func(error) bool, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var err error
	_ = poll(ctx, func() (bool, error) {
		err = f()
		return err == nil || !retryable(err), nil
	})
	return err
}

// poll calls f until it reports done or fails, backing off from 50 ms to 2 s between calls; it
// returns ctx's error when ctx ends first.
func poll(ctx context.Context, f func() (bool, error)) error {
	wait := 50 * time.Millisecond
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
		wait = min(2*wait, 2*time.Second)
	}
}

// pollNew is poll for a resource a call has just created or updated: not-found answers within grace
// (newResourceGrace in the driver) are eventual consistency, and polling goes on.
func pollNew(ctx context.Context, grace time.Duration, f func() (bool, error)) error {
	start := time.Now()
	return poll(ctx, func() (bool, error) {
		done, err := f()
		if isNotFound(err) && time.Since(start) < grace {
			return false, nil
		}
		return done, err
	})
}
