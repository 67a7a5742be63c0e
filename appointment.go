package beckon

import "time"

// AppointmentStatus is where a visit stands, as its EHR or the clinic says.
type AppointmentStatus string

// Appointment statuses.
const (
	StatusBooked    AppointmentStatus = "booked"
	StatusArrived   AppointmentStatus = "arrived"
	StatusFulfilled AppointmentStatus = "fulfilled"
	StatusCancelled AppointmentStatus = "cancelled"
	StatusNoShow    AppointmentStatus = "noshow"
)

// Ended reports whether no reminder goes for an appointment in status s any
// more: it was cancelled or missed.
func (s AppointmentStatus) Ended() bool { return s == StatusCancelled || s == StatusNoShow }

// Confirmation states.
const (
	Unconfirmed = "unconfirmed"
	Confirmed   = "confirmed"
)

// Appointment is identified by the EHR's id within a clinic. Version increases
// by one on every change; planned sends carry the version they were planned for.
type Appointment struct {
	ClinicID  string
	ID        string
	PatientID string
	Start     time.Time // UTC
	Duration  time.Duration
	Type      string
	// Provider and Location are ids, what campaigns match on (Match);
	// ProviderName and LocationName are what a patient is shown ("Dr. Ana
	// Rivera", "Main Street Clinic"), empty when the source sent none.
	Provider     string
	ProviderName string
	Location     string
	LocationName string
	// Notes are the scheduling notes the EHR sent (HL7 NTE): for staff, never
	// in the data a message template sees. Names and notes are bounded at
	// every entrance (ehr.MaxNameLength, ehr.MaxNotesLength).
	Notes        string
	Status       AppointmentStatus
	Confirmation string
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}
