package plumbing_test

import (
	"errors"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

var codes = plumbing.Codes(func(err error) driver.ErrorCode {
	switch {
	case errors.Is(err, errNotFound):
		return driver.NotFound
	case errors.Is(err, errDenied):
		return driver.PermissionDenied
	}
	return driver.Unknown
})

func TestCodes(t *testing.T) {
	if !codes.NotFound(errNotFound) || codes.NotFound(errDenied) || codes.NotFound(nil) {
		t.Error("NotFound: want true only for the error the table maps to NotFound")
	}
	if err := codes.IgnoreNotFound(errNotFound); err != nil {
		t.Errorf("IgnoreNotFound(not found) = %v, want nil", err)
	}
	if err := codes.IgnoreNotFound(errDenied); err != errDenied {
		t.Errorf("IgnoreNotFound(denied) = %v, want it unchanged", err)
	}
	for _, tc := range []struct {
		in      error
		ok      bool
		wantErr error
	}{
		{nil, true, nil},
		{errNotFound, false, nil},
		{errDenied, false, errDenied},
	} {
		if ok, err := codes.Exists(tc.in); ok != tc.ok || err != tc.wantErr {
			t.Errorf("Exists(%v) = %v, %v; want %v, %v", tc.in, ok, err, tc.ok, tc.wantErr)
		}
	}
}
