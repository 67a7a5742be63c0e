package beckon

import "time"

// Clinic is a tenant. Every other record belongs to exactly one clinic.
type Clinic struct {
	ID       string
	Name     string
	TimeZone string // IANA zone, the default for its patients
	Phone    string // E.164, shown in messages ("call us at …"); may be empty
	// QuietHours is the window in the patient's local time in which nothing is sent.
	QuietHours QuietHours
	// InboxHours says, by language, when the clinic's staff read patients'
	// messages ("weekdays 8 AM to 5 PM"): the acknowledgement of a
	// patient's free text tells them. Nil: "during office hours".
	InboxHours map[string]string
	// PlanRevision counts the changes to what planning reads: the clinic's
	// fields and its campaigns (ClinicUpdate, CampaignPut and CampaignDelete
	// bump it). The store sets it; writes that give it are ignored.
	PlanRevision int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// QuietHours is a daily window [Start, End) in minutes after local midnight.
// Start > End means the window wraps midnight (the usual 21:00–08:00).
type QuietHours struct {
	Enabled     bool
	StartMinute int // 0..1439
	EndMinute   int // 0..1439
}

// DefaultQuietHours is 21:00–08:00, the TCPA calling window inverted.
var DefaultQuietHours = QuietHours{Enabled: true, StartMinute: 21 * 60, EndMinute: 8 * 60}

// Role is what an API key may do.
type Role string

// Key roles.
const (
	RoleAdmin Role = "admin" // everything in its clinic
	RoleEHR   Role = "ehr"   // appointment and patient feeds
)

// APIKey is a bearer credential. Only the SHA-256 hash of the secret is kept.
type APIKey struct {
	ID        string
	ClinicID  string
	Name      string
	Role      Role
	Hash      string // hex sha256 of the secret
	CreatedAt time.Time
}
