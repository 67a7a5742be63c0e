// Package channels defines how Beckon hands a rendered message to a provider.
// Each provider lives in its own package (outbox, twilio, sendgrid); a
// provider's stand-in server for tests sits beside it (twilio/twiliotest,
// sendgrid/sendgridtest), and what the stand-ins share is in channelstest.
package channels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beckonhealth/beckon"
)

// Message is a rendered message, ready to go.
type Message struct {
	SendID   string // stable id of the planned send; providers carry it for lookups
	ClinicID string
	Channel  beckon.Channel // beckon.ChannelSMS or beckon.ChannelEmail
	To       string         // E.164 for SMS, address for email
	Subject  string         // email
	Text     string         // SMS body or email plain text
	HTML     string         // email, optional
	// Headers are extra mail headers of an email (List-Unsubscribe…);
	// providers of other kinds ignore them. Nil: none.
	Headers map[string]string
	// NotAfter is when the message stops being useful (the appointment start for a
	// reminder); providers that support a validity period use it. Zero: none.
	NotAfter time.Time
}

// Mail headers of RFC 2369 and RFC 8058 (one-click unsubscribe).
const (
	HeaderListUnsubscribe     = "List-Unsubscribe"
	HeaderListUnsubscribePost = "List-Unsubscribe-Post"
)

// UnsubscribeHeaders are the headers of an email whose unsubscribe link is
// url: mail clients show an unsubscribe button that POSTs
// "List-Unsubscribe=One-Click" to it.
func UnsubscribeHeaders(url string) map[string]string {
	return map[string]string{
		HeaderListUnsubscribe:     "<" + url + ">",
		HeaderListUnsubscribePost: "List-Unsubscribe=One-Click",
	}
}

// Receipt is what the provider said when it accepted the message.
type Receipt struct {
	Provider   string // "outbox", "twilio", "sendgrid"
	ProviderID string // the provider's message id
	Status     string // beckon.MessageQueued or beckon.MessageSent/Delivered
	From       string
}

// Channel delivers messages of one kind through one provider.
type Channel interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}

// Looker is implemented by channels that can tell whether a send was already
// accepted (used to resolve a claim left by a crashed worker).
type Looker interface {
	// Lookup returns the receipt of the message carrying sendID, or found=false.
	Lookup(ctx context.Context, m Message) (r Receipt, found bool, err error)
}

// Reporter is implemented by channels whose provider cannot be asked about
// a message but reports on it by events that carry the send id (SendGrid's
// event webhook, custom_args.send_id). A call cut off before its answer is
// settled by those events when they come; what is done when none comes is
// the clinic's choice.
type Reporter interface {
	// EventWait is how long after a call started its events are waited
	// for; zero when no event webhook reports on this channel's messages.
	EventWait() time.Duration
	// ResendUnsure reports whether a message whose fate nobody can tell is
	// sent again (the patient may get it twice) rather than recorded unknown
	// (the patient may not get it).
	ResendUnsure() bool
}

// Error kinds, so the worker can decide without knowing the provider.
const (
	// KindPermanent: will never succeed as it is (bad number, unsubscribed).
	KindPermanent = "permanent"
	// KindThrottled: the provider asked us to slow down; retry after RetryAfter
	// without counting an attempt.
	KindThrottled = "throttled"
	// KindTransient: the provider did not accept it (5xx, refused); retry.
	KindTransient = "transient"
	// KindAmbiguous: the request may have been accepted (timeout after sending);
	// never resend blindly.
	KindAmbiguous = "ambiguous"
)

// Error is a classified provider error.
type Error struct {
	Kind       string
	Code       string // provider code, e.g. "21211", "http_429"
	Reason     string // human reason, no PHI
	RetryAfter time.Duration
	OptOut     bool // the recipient unsubscribed at the provider (Twilio 21610)
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%s %s): %v", e.Reason, e.Kind, e.Code, e.Err)
	}
	return fmt.Sprintf("%s (%s %s)", e.Reason, e.Kind, e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err: the Kind of a wrapped *Error, else transient.
func KindOf(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Kind
	}
	return KindTransient
}

// Named is implemented by channels that say which provider they call
// ("twilio", "sendgrid", "outbox"), for metrics.
type Named interface {
	Provider() string
}

// ProviderOf is the provider ch calls, or "unknown".
func ProviderOf(ch Channel) string {
	if n, ok := ch.(Named); ok {
		return n.Provider()
	}
	return "unknown"
}
