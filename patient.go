package beckon

import "time"

// Channel is how a message reaches a patient.
type Channel string

// Channel names.
const (
	ChannelSMS       Channel = "sms"
	ChannelEmail     Channel = "email"
	ChannelPreferred Channel = "preferred" // steps only: resolved at send time
)

// Consent states, per channel.
const (
	ConsentUnknown  = "unknown"   // transactional reminders may go
	ConsentOptedIn  = "opted_in"  // explicit yes
	ConsentOptedOut = "opted_out" // nothing but the opt-out confirmation
)

// Patient is identified by the EHR's id within a clinic.
type Patient struct {
	ClinicID         string
	ID               string
	FirstName        string
	LastName         string
	Phone            string  // E.164 or empty
	Email            string  // or empty
	Language         string  // BCP 47 primary tag, e.g. "en", "es"
	TimeZone         string  // IANA zone; empty means the clinic's
	PreferredChannel Channel // ChannelSMS, ChannelEmail or empty
	SMSConsent       string
	EmailConsent     string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}
