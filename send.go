package beckon

import "time"

// SendStatus is where a send is in its life: planned, then claimed by a
// worker, then one of the final states. A send is delivered at most once:
// only a claim's holder moves it on.
type SendStatus string

// Send statuses.
const (
	SendPlanned    SendStatus = "planned"    // waiting for its due time
	SendClaimed    SendStatus = "claimed"    // a worker is delivering it
	SendSent       SendStatus = "sent"       // the channel accepted it
	SendSkipped    SendStatus = "skipped"    // not sent, see Reason
	SendSuperseded SendStatus = "superseded" // replaced by a newer plan
	SendFailed     SendStatus = "failed"     // permanent failure, see Reason
	SendUnknown    SendStatus = "unknown"    // a crashed claim whose outcome the channel cannot tell
)

// Final reports whether a send in status s is done: nothing moves it on
// (SendFinish accepts only these).
func (s SendStatus) Final() bool {
	switch s {
	case SendSent, SendSkipped, SendFailed, SendSuperseded, SendUnknown:
		return true
	}
	return false
}

// Send is one planned message. Its ID is stable (clinic, appointment, version,
// campaign, revision, step) and doubles as the asynq TaskID.
type Send struct {
	ID                 string
	ClinicID           string
	AppointmentID      string
	AppointmentVersion int64
	PatientID          string
	CampaignID         string
	CampaignRevision   int64
	StepID             string
	Channel            Channel // as the step says: sms, email, preferred
	Template           string  // the step's template name, empty for inline content
	DueAt              time.Time
	BeforeStart        bool // a reminder: never sent once the appointment has begun
	OnlyIfUnconfirmed  bool
	Status             SendStatus
	Reason             string
	Attempts           int
	ClaimToken         string
	ClaimedAt          time.Time // zero unless claimed
	EnqueuedAt         time.Time // zero until the pump hands it to asynq
	SentAt             time.Time
	MessageID          string // our message id once sent
	CreatedAt          time.Time
	UpdatedAt          time.Time
}
