package beckon

import "time"

// Send statuses: the ledger of DESIGN.md promise 2.
const (
	SendPlanned    = "planned"    // waiting for its due time
	SendClaimed    = "claimed"    // a worker is delivering it
	SendSent       = "sent"       // the channel accepted it
	SendSkipped    = "skipped"    // not sent, see Reason
	SendSuperseded = "superseded" // replaced by a newer plan
	SendFailed     = "failed"     // permanent failure, see Reason
	SendUnknown    = "unknown"    // a crashed claim whose outcome the channel cannot tell
)

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
	Channel            string // as the step says: sms, email, preferred
	Template           string // the step's template name, empty for inline content
	DueAt              time.Time
	BeforeStart        bool // a reminder: never sent once the appointment has begun
	OnlyIfUnconfirmed  bool
	Status             string
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
