package gcpfunctions

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// The errors a new project meets first name the fix, and keep Google's own words after it.
func TestErrorsNameTheFix(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{status.Error(codes.PermissionDenied, "Cloud Functions API has not been used in project 123 before or it is disabled. reason: SERVICE_DISABLED"), "gcloud services enable"},
		{status.Error(codes.PermissionDenied, "Permission 'iam.serviceAccounts.actAs' denied on service account x@p.iam.gserviceaccount.com"), "roles/iam.serviceAccountUser"},
		{status.Error(codes.PermissionDenied, "service-123@gcp-sa-pubsub.iam.gserviceaccount.com does not have permission"), "gcloud beta services identity create --service=pubsub.googleapis.com"},
	} {
		err := fail(driver.Function, "creating", "orders", tc.err)
		var de *driver.Error
		if !errors.As(err, &de) || de.Code != driver.PermissionDenied {
			t.Errorf("fail(%v) = %v, want a *driver.Error with code PermissionDenied", tc.err, err)
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.Contains(msg, status.Convert(tc.err).Message()) {
			t.Errorf("error %q: want the fix %q and Google's message", msg, tc.want)
		}
	}
	if err := fail(driver.Function, "creating", "orders", status.Error(codes.PermissionDenied, "caller lacks run.services.create")); strings.Contains(err.Error(), "gcloud") {
		t.Errorf("an unexplained refusal got a fix: %v", err)
	}
}

func TestCodes(t *testing.T) {
	for code, want := range map[codes.Code]driver.ErrorCode{
		codes.NotFound: driver.NotFound, codes.AlreadyExists: driver.AlreadyExists, codes.InvalidArgument: driver.InvalidArgument,
		codes.PermissionDenied: driver.PermissionDenied, codes.Unavailable: driver.Unknown,
	} {
		if got := codeOf(status.Error(code, "x")); got != want {
			t.Errorf("codeOf(%s) = %s, want %s", code, got, want)
		}
	}
	if !isPropagating(status.Error(codes.InvalidArgument, "Service account x@p.iam.gserviceaccount.com does not exist.")) {
		t.Error("a service account IAM has not propagated yet is not retried")
	}
	if isPropagating(status.Error(codes.InvalidArgument, "memory too large")) {
		t.Error("an invalid setting is retried as propagation")
	}
}
