package beckon

import (
	"context"
	"time"
)

// DeliveryQuerier holds the queries of real delivery through providers
// (per-clinic channel settings, provider statuses, fallbacks).
type DeliveryQuerier interface {
	StatusInboxQuerier // verified provider callbacks, kept until applied

	// ChannelSettingsGet returns the clinic's channel settings; ErrNotFound
	// when the clinic never set any.
	ChannelSettingsGet(ctx context.Context, clinicID string) (ChannelSettings, error)
	// ChannelSettingsPut inserts or replaces the clinic's settings and returns
	// them as stored, with Revision one more than before (1 for the first).
	ChannelSettingsPut(ctx context.Context, s ChannelSettings) (ChannelSettings, error)

	// MessageGetByProvider finds the clinic's outbound message by the
	// provider's id; ErrNotFound if the clinic has none (another clinic's
	// message included).
	MessageGetByProvider(ctx context.Context, clinicID, provider, providerID string) (Message, error)
	// MessageStatusApply records the event in the message's history and moves
	// the message's status to e.Status only if that is a later state
	// (MessageStatusRank): callbacks arriving out of order never move a
	// status back. It reports whether the status moved; ErrNotFound if the
	// clinic has no such message.
	MessageStatusApply(ctx context.Context, clinicID string, e MessageEvent) (moved bool, err error)

	// ProviderEventRecord remembers a provider's callback to the clinic by its
	// idempotency key; first is false when it was recorded before for that
	// clinic. The same key sent to another clinic is another event.
	ProviderEventRecord(ctx context.Context, clinicID, provider, key string, at time.Time) (first bool, err error)

	// AddressMarkUndeliverable records (or refreshes) an address a provider
	// could not deliver to.
	AddressMarkUndeliverable(ctx context.Context, a UndeliverableAddress) error
	// AddressUndeliverableGet returns the record of an undeliverable address;
	// ErrNotFound when the address is not known to be undeliverable.
	AddressUndeliverableGet(ctx context.Context, clinicID string, channel Channel, address string) (UndeliverableAddress, error)
}

// ChannelSettings is how a clinic's messages reach patients. Empty fields fall
// back to the installation's defaults (the environment).
type ChannelSettings struct {
	ClinicID string

	TwilioAccountSID          string
	TwilioAuthToken           string // secret: never logged nor returned by the API
	TwilioFrom                string // E.164 number or short code
	TwilioMessagingServiceSID string
	TwilioPerSecond           float64 // 0: by sender type (1 long code, 3 toll-free, 100 short code)

	SendGridAPIKey     string // secret: never logged nor returned by the API
	SendGridFrom       string
	SendGridFromName   string
	SendGridPerSecond  float64 // 0: the default
	SendGridWebhookKey string  // base64 ECDSA public key of the signed event webhook
	// SendGridUnsure is what is done with an email whose fate nobody can
	// tell (its call was cut off and no event webhook reports on it):
	// UnsureResend (empty: the default) or UnsureRecordUnknown.
	SendGridUnsure string

	Revision  int64
	UpdatedAt time.Time
}

// What the clinic wants done with a message whose fate nobody can tell: send
// it again (the patient may get it twice) or record it unknown (the patient
// may not get it). A lost reminder costs a visit, a duplicate an apology.
const (
	UnsureResend        = "resend"
	UnsureRecordUnknown = "record_unknown"
)

// OwnTwilio reports whether the clinic has a Twilio account of its own (its
// SMS do not go through the installation's account).
func (cs ChannelSettings) OwnTwilio() bool {
	return cs.TwilioAccountSID != "" || cs.TwilioAuthToken != ""
}

// OwnSendGrid reports whether the clinic has a SendGrid account of its own
// (its API key: its mail does not go through the installation's account).
// Its own event webhook key alone does not make one.
func (cs ChannelSettings) OwnSendGrid() bool {
	return cs.SendGridAPIKey != ""
}

// UndeliverableAddress is a phone number or email address a provider reported
// as undeliverable (a hard bounce, a dropped mail).
type UndeliverableAddress struct {
	ClinicID string
	Channel  Channel
	Address  string
	Reason   string // no PHI
	At       time.Time
}

// MessageStatusRank orders outbound message statuses: queued < sent <
// delivered, undelivered, failed (final). Other values (provider events such
// as "deferred" or "spamreport") rank -1: they are history, not a status.
func MessageStatusRank(status string) int {
	switch status {
	case MessageQueued:
		return 0
	case MessageSent:
		return 1
	case MessageDelivered, MessageUndelivered, MessageFailed:
		return 2
	}
	return -1
}
