package beckon

import (
	"context"
	"time"
)

// DispatchQuerier holds the set-at-a-time queries of delivery: deliveries
// running at the same moment share one claim statement and one record
// transaction instead of paying for their own.
type DispatchQuerier interface {
	// SendClaimMany claims, with one token, those of the named sends that are
	// planned and of the clinic they are named with, and returns them as
	// claimed. Sends not returned were not planned (claimed by someone else,
	// ended), are unknown, or are another clinic's: SendClaim tells which.
	SendClaimMany(ctx context.Context, refs []SendRef, token string, now time.Time) ([]Send, error)
	// SendGetMany returns the clinic's sends among ids, by id: what a
	// delivery re-reads just before its provider call, for every delivery
	// of the moment at once.
	SendGetMany(ctx context.Context, clinicID string, ids []string) (map[string]Send, error)
	// SendReadMany returns the clinic's sends among ids, by id, each with
	// its appointment, patient and campaign's revision as stored now, in one
	// statement: what a delivery re-checks just before its provider call.
	SendReadMany(ctx context.Context, clinicID string, ids []string) (map[string]SendRead, error)
	// AddressUndeliverableGetMany returns the clinic's undeliverable records
	// among addresses (phone numbers and email addresses, any channel).
	AddressUndeliverableGetMany(ctx context.Context, clinicID string, addresses []string) ([]UndeliverableAddress, error)
	// SendRecordMany ends each record's send as sent with its message, as
	// SendFinish and MessageRecord would, in one transaction. A send whose
	// claim is no longer the record's token is left alone and its message is
	// not stored: its id is returned in lost.
	SendRecordMany(ctx context.Context, recs []SentRecord, now time.Time) (lost []string, err error)
}

// SentRecord is a message a provider accepted for a claimed send.
type SentRecord struct {
	Token   string // the claim under which the message was sent
	Message Message
	// Events are the message's first events; the message takes the status of
	// the last one (Message.Status if none).
	Events []MessageEvent
}

// SendRef names a send of a clinic.
type SendRef struct {
	ClinicID string
	ID       string
}

// SendRead is a send with what a delivery re-checks of it, read together.
type SendRead struct {
	Send        Send
	Appointment *Appointment // nil: the appointment no longer exists
	Patient     *Patient     // nil: the patient no longer exists
	// PhoneConsent is the SMS consent of the patient's number in the
	// consent ledger (empty: the ledger knows nothing of it). It wins over
	// the patient's own SMSConsent, which a concurrent write may have left
	// behind.
	PhoneConsent string
	// CampaignRevision, CampaignActive and CampaignUpdatedAt are the send's
	// campaign as stored now (CampaignRevision 0: deleted). Every change of
	// a campaign moves its revision and its updated_at, so a caller holding
	// the campaign at both needs no more of it.
	CampaignRevision  int64
	CampaignActive    bool
	CampaignUpdatedAt time.Time
}
