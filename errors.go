package beckon

import "errors"

// Errors the store returns; database errors are translated to these at the edge.
var (
	// ErrNotFound: no such record (in this clinic).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a conditional write lost (version moved, claim taken, id exists).
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable: the database cannot serve now (no connection to be had:
	// too many clients, starting up or shutting down, unreachable, or busy);
	// the caller may retry later. The store wraps every driver error of
	// that kind in it: test with errors.Is.
	ErrUnavailable = errors.New("store: database unavailable")
	// ErrInvalidData: the database refused a value for what it is (a NUL
	// byte or invalid UTF-8 in text, a string too long, a number out of
	// range): writing it again will fail again. Inputs are validated before
	// they reach the store; this says a check is missing, never "retry".
	ErrInvalidData = errors.New("store: invalid data")
)
