package driver

import "errors"

// ErrorCode is a portable classification of a cloud error; drivers map their SDK's errors to it.
type ErrorCode int

const (
	// Unknown: anything not classified below.
	Unknown ErrorCode = iota
	// NotFound: the component does not exist.
	NotFound
	// AlreadyExists: a component of that name exists and does not belong to this handler's state.
	AlreadyExists
	// InvalidArgument: the cloud refused a setting.
	InvalidArgument
	// PermissionDenied: the credentials may not perform the call.
	PermissionDenied
	// FailedPrecondition: the call is refused in the component's current state (deleting a topic
	// others still subscribe to, a table that holds items).
	FailedPrecondition
)

func (c ErrorCode) String() string {
	switch c {
	case NotFound:
		return "not found"
	case AlreadyExists:
		return "already exists"
	case InvalidArgument:
		return "invalid argument"
	case PermissionDenied:
		return "permission denied"
	case FailedPrecondition:
		return "failed precondition"
	}
	return "unknown"
}

// Error is the one error type drivers return: the component and action that failed, with the cloud's error.
type Error struct {
	Component Component
	// Action is a verb in -ing form: "creating", "reading", "updating", "deleting".
	Action string
	// ID is the component's name or cloud id, when known.
	ID   string
	Code ErrorCode
	Err  error
}

func (e *Error) Error() string {
	s := e.Action + " " + DisplayName(e.Component)
	if e.ID != "" {
		s += " (" + e.ID + ")"
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf wraps err, unless it is already an *Error, as the failure of action on component c.
func Errorf(c Component, action, id string, code ErrorCode, err error) error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	return &Error{Component: c, Action: action, ID: id, Code: code, Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, or Unknown.
func CodeOf(err error) ErrorCode {
	var de *Error
	if errors.As(err, &de) {
		return de.Code
	}
	return Unknown
}

// DisplayName is how diagnostics name a component.
func DisplayName(c Component) string {
	switch c {
	case DeadLetter:
		return "dead-letter queue"
	case DedupTable:
		return "dedup table"
	case Logs:
		return "log group"
	case Mapping:
		return "trigger mapping"
	case Queue:
		return "trigger queue"
	case Topic:
		return "trigger topic"
	case Subscription:
		return "trigger subscription"
	case AppTopic:
		return "topic"
	case AppTable:
		return "table"
	}
	return string(c)
}
