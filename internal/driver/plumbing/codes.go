package plumbing

import "github.com/threefactor/terraform-provider-threefactor/internal/driver"

// Codes is a driver's mapping of its cloud's errors to portable codes (its error-code table), as
// the not-found helpers take it. A driver declares it once: var codes = plumbing.Codes(codeOf).
type Codes func(error) driver.ErrorCode

// NotFound reports whether err says the component does not exist.
func (c Codes) NotFound(err error) bool { return err != nil && c(err) == driver.NotFound }

// IgnoreNotFound returns nil when err says the component does not exist, err otherwise: deleting
// what is already gone succeeds.
func (c Codes) IgnoreNotFound(err error) error {
	if c.NotFound(err) {
		return nil
	}
	return err
}

// Exists tells what the error of a read says: (true, nil) for none, (false, nil) when the component
// does not exist, (false, err) for any other failure. A read that returns nil for a missing
// component then needs one test:
//
//	if ok, err := codes.Exists(err); !ok {
//		return nil, wrap(err) // nil, nil when the component is gone (wrap(nil) is nil)
//	}
func (c Codes) Exists(err error) (bool, error) {
	return err == nil, c.IgnoreNotFound(err)
}
