package gcpfunctions

import (
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// errorCodes maps gRPC status codes to portable codes.
var errorCodes = map[codes.Code]driver.ErrorCode{
	codes.NotFound:           driver.NotFound,
	codes.AlreadyExists:      driver.AlreadyExists,
	codes.InvalidArgument:    driver.InvalidArgument,
	codes.FailedPrecondition: driver.InvalidArgument,
	codes.OutOfRange:         driver.InvalidArgument,
	codes.PermissionDenied:   driver.PermissionDenied,
	codes.Unauthenticated:    driver.PermissionDenied,
}

func codeOf(err error) driver.ErrorCode {
	if err == nil {
		return driver.Unknown
	}
	return errorCodes[status.Code(err)]
}

var codesOf = plumbing.Codes(codeOf)

func isNotFound(err error) bool { return codesOf.NotFound(err) }

// fail wraps err once as the failure of action on component c (id names it), with the fix for the
// errors users meet first on a new project.
func fail(c driver.Component, action, id string, err error) error {
	if err == nil {
		return nil
	}
	return driver.Errorf(c, action, id, codeOf(err), explain(err))
}

// explain adds the fix to the errors a new project meets first.
func explain(err error) error {
	s, _ := status.FromError(err)
	msg := s.Message()
	switch {
	case s.Code() == codes.PermissionDenied && (strings.Contains(msg, "SERVICE_DISABLED") || strings.Contains(msg, "has not been used") || strings.Contains(msg, "is disabled")):
		return errors.Join(errors.New("an API the handler needs is not enabled in the project: enable it (gcloud services enable cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com pubsub.googleapis.com firestore.googleapis.com iam.googleapis.com cloudresourcemanager.googleapis.com) and apply again"), err)
	case s.Code() == codes.PermissionDenied && strings.Contains(msg, "iam.serviceAccounts.actAs"):
		return errors.Join(errors.New("the credentials may not deploy a function that runs as the handler's service account: grant them roles/iam.serviceAccountUser (iam.serviceAccounts.actAs) on it or on the project"), err)
	case s.Code() == codes.PermissionDenied && strings.Contains(msg, "gcp-sa-pubsub"):
		return errors.Join(errors.New("the Pub/Sub service agent is missing or lacks a role: open the Pub/Sub API page once, or run gcloud beta services identity create --service=pubsub.googleapis.com"), err)
	}
	return err
}

// mayHaveActed reports an error after which a create may have taken effect unanswered.
func mayHaveActed(err error) bool {
	c := status.Code(err)
	return c == codes.Unavailable || c == codes.DeadlineExceeded || c == codes.Internal || c == codes.Unknown
}

// Bounds of the waits for eventual consistency, within the caller's deadline.
const (
	// propagationTimeout bounds the retries of a call that names a service account IAM has not
	// propagated yet ("does not exist" for up to a minute after its creation).
	propagationTimeout = 2 * time.Minute
	// newResourceGrace bounds how long a read of something just created may answer NOT_FOUND.
	newResourceGrace = 30 * time.Second
)

// isPropagating reports a refusal that names a service account created moments ago.
func isPropagating(err error) bool {
	s, _ := status.FromError(err)
	return s.Code() == codes.InvalidArgument && strings.Contains(s.Message(), "does not exist") &&
		(strings.Contains(s.Message(), "account") || strings.Contains(s.Message(), "member"))
}

// isAborted reports an IAM policy write that lost a race (a stale etag): read again and retry.
func isAborted(err error) bool { return status.Code(err) == codes.Aborted }
