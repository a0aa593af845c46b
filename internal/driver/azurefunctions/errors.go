package azurefunctions

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

func codeOf(err error) driver.ErrorCode {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return driver.Unknown
	}
	switch re.StatusCode {
	case http.StatusNotFound:
		return driver.NotFound
	case http.StatusConflict:
		if re.ErrorCode == "MissingSubscriptionRegistration" {
			return driver.PermissionDenied
		}
		return driver.AlreadyExists
	case http.StatusBadRequest:
		return driver.InvalidArgument
	case http.StatusUnauthorized, http.StatusForbidden:
		return driver.PermissionDenied
	}
	return driver.Unknown
}

var codes = plumbing.Codes(codeOf)

// fail wraps err once as the failure of action on component c, with the fix for the errors a new
// subscription meets first.
func fail(c driver.Component, action, id string, err error) error {
	if err == nil {
		return nil
	}
	return driver.Errorf(c, action, id, codeOf(err), explain(err))
}

// explain names the resource provider an unregistered subscription must register: ARM answers
// MissingSubscriptionRegistration, and the SDK's own registration fails when the credentials lack
// */register/action.
func explain(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.RawResponse == nil || re.RawResponse.Request == nil {
		return err
	}
	registering := re.StatusCode == http.StatusForbidden && strings.HasSuffix(re.RawResponse.Request.URL.Path, "/register")
	if re.ErrorCode == "MissingSubscriptionRegistration" || registering {
		ns := "the resource provider named below"
		for _, p := range []string{"Microsoft.Web", "Microsoft.Storage", "Microsoft.ServiceBus", "Microsoft.DocumentDB", "Microsoft.ManagedIdentity", "Microsoft.Authorization"} {
			if strings.Contains(strings.ToLower(re.RawResponse.Request.URL.Path), "/providers/"+strings.ToLower(p)+"/") {
				ns = p
			}
		}
		return errors.Join(errors.New("the subscription has not registered "+ns+", and the credentials may not register it: "+
			"run az provider register --namespace "+ns+" (or register it in the portal) and apply again"), err)
	}
	return err
}

// Bounds of the waits for eventual consistency.
const (
	// propagationTimeout bounds the retries of a call refused while a new identity or role
	// assignment propagates (403 from Service Bus, Storage and the SCM endpoint; PrincipalNotFound).
	propagationTimeout = 5 * time.Minute
)

// isPropagating reports a refusal that a new identity or role assignment explains.
func isPropagating(err error) bool {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode == http.StatusForbidden || re.ErrorCode == "PrincipalNotFound"
	}
	var pe *publishError
	return errors.As(err, &pe) && pe.status == http.StatusForbidden
}

// operationError is the failure of a long-running operation ARM accepted: the resource exists
// (provisioningState Failed, as ARM leaves it), so the caller records it for delete.
type operationError struct{ err error }

func (e *operationError) Error() string { return e.err.Error() }
func (e *operationError) Unwrap() error { return e.err }

// polled marks err, from polling an accepted operation, as leaving the resource behind.
func polled(err error) error {
	if err == nil {
		return nil
	}
	return &operationError{err}
}

// exists reports whether the create that returned err left its resource: it succeeded, or ARM
// accepted it and its operation failed.
func exists(err error) bool {
	var oe *operationError
	return err == nil || errors.As(err, &oe)
}
