package beckon

import (
	"context"
	"time"
)

// How a consent change came about (ConsentChange.How).
const (
	ConsentKeyword       = "keyword"        // a STOP/START-like reply
	ConsentProviderError = "provider_error" // the provider refused: the number unsubscribed (Twilio 21610)
	ConsentUnsubscribe   = "unsubscribe"    // an email unsubscribe
	ConsentSpamReport    = "spam_report"    // an email marked as spam
	ConsentStaff         = "staff"          // consent obtained in person, recorded by staff
	ConsentAPI           = "api"            // set through the API by a client system
)

// ConsentHows lists the valid ConsentChange.How values.
var ConsentHows = []string{ConsentKeyword, ConsentProviderError, ConsentUnsubscribe, ConsentSpamReport, ConsentStaff, ConsentAPI}

// ConsentChange is one entry of the consent ledger: an opt-out or opt-in on
// one channel. The ledger is append-only; a patient's current consent is
// derived from it. An SMS change applies to a phone number (every patient of
// the clinic with that number, and the number itself), an email change to
// an email address.
type ConsentChange struct {
	// ID is deterministic when the cause has an id (e.g. "cns_" + the
	// inbound message's id), so that recording it twice changes nothing;
	// NewID("cns_") otherwise.
	ID        string
	ClinicID  string
	PatientID string  // may be empty for an SMS change by number alone (an unknown sender)
	Phone     string  // E.164: the number an SMS change applies to
	Email     string  // the address an email change applies to
	Channel   Channel // ChannelSMS or ChannelEmail
	State     string  // ConsentOptedOut or ConsentOptedIn
	How       string  // ConsentKeyword, ConsentProviderError, …
	Text      string  // the exact text that caused it (a keyword reply's body); may be empty
	MessageID string  // the inbound or outbound message it came from; may be empty
	By        string  // who recorded it (a staff member's name, an API key's actor); may be empty
	At        time.Time
}

// ConsentStore is the consent ledger and the consent derived from it.
type ConsentStore interface {
	// ConsentRecord appends a change to the ledger and updates the derived
	// current consent, in one transaction. A change whose ID is already
	// recorded changes nothing (applied=false). An SMS change applies to the
	// phone number: every patient of the clinic with that phone (a
	// household) and the number itself (so a patient added later with that
	// number takes its state); an email change to the patients of the clinic
	// with that email. ErrInvalidData when the change lacks its address,
	// channel or state.
	ConsentRecord(ctx context.Context, c ConsentChange) (applied bool, err error)
	// ConsentHistory lists a patient's ledger entries (their own, their
	// number's and their email address's), oldest first.
	ConsentHistory(ctx context.Context, clinicID, patientID string) ([]ConsentChange, error)
	// ConsentPhoneState is the current SMS consent of a number in a clinic
	// (ConsentUnknown if the ledger has nothing for it).
	ConsentPhoneState(ctx context.Context, clinicID, phone string) (string, error)
}
