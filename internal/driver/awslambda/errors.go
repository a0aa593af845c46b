package awslambda

import (
	"errors"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
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

// codes is codeOf as plumbing's not-found helpers take it.
var codes = plumbing.Codes(codeOf)

func isNotFound(err error) bool { return codes.NotFound(err) }

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
