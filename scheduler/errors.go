package scheduler

import "errors"

// Errors the planning service returns for input that refers to missing records.
var (
	// ErrUnknownPatient: an appointment names a patient the clinic has not sent.
	ErrUnknownPatient = errors.New("unknown patient")
	// ErrUnknownClinic: the clinic does not exist.
	ErrUnknownClinic = errors.New("unknown clinic")
)
