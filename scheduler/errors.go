package scheduler

import (
	"errors"
	"fmt"
)

// Errors the planning service returns for input that refers to missing records.
var (
	// ErrUnknownPatient: an appointment names a patient the clinic has not sent.
	ErrUnknownPatient = errors.New("unknown patient")
	// ErrUnknownClinic: the clinic does not exist.
	ErrUnknownClinic = errors.New("unknown clinic")
)

// ItemError is an error about one appointment of a batch given to
// UpsertAppointments: its index in the batch, the field at fault (as the
// API names it, e.g. "patient_id") and why (errors.Is sees through it, e.g.
// to ErrUnknownPatient). Nothing is applied when one is returned.
type ItemError struct {
	Index int
	Field string
	Err   error
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("item %d: %s: %v", e.Index, e.Field, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }
