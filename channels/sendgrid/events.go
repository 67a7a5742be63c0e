package sendgrid

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
)

// Event webhook headers.
const (
	SignatureHeader = eventwebhook.VerificationHTTPHeader // X-Twilio-Email-Event-Webhook-Signature
	TimestampHeader = eventwebhook.TimestampHTTPHeader    // X-Twilio-Email-Event-Webhook-Timestamp
)

// DefaultEventWindow is the replay window VerifyEvents uses when given none.
const DefaultEventWindow = 10 * time.Minute

// Errors of VerifyEvents.
var (
	ErrBadSignature = errors.New("sendgrid: event webhook signature is not valid")
	ErrStale        = errors.New("sendgrid: event webhook timestamp is outside the replay window")
)

// ParsePublicKey converts the base64 (DER, PKIX) verification key shown in
// SendGrid's settings into an ECDSA key. Unlike the SDK's
// ConvertPublicKeyBase64ToECDSA it returns an error, not a panic, for a key
// of another type. Call it once at start.
func ParsePublicKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("sendgrid: public key is not base64: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("sendgrid: public key: %w", err)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("sendgrid: public key is %T, want ECDSA", pub)
	}
	return k, nil
}

// VerifyEvents checks a signed event webhook request: signature and
// timestamp are the two headers, rawBody the body exactly as received
// (trailing CRLF included). The timestamp (Unix seconds) must be within
// window of now, either way; window <= 0 means DefaultEventWindow. Returns
// nil, ErrStale, or an error wrapping ErrBadSignature.
func VerifyEvents(publicKey *ecdsa.PublicKey, signature, timestamp string, rawBody []byte, now time.Time, window time.Duration) (err error) {
	if publicKey == nil || publicKey.Curve == nil {
		return fmt.Errorf("%w: no public key", ErrBadSignature)
	}
	if window <= 0 {
		window = DefaultEventWindow
	}
	ts, perr := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if perr != nil {
		return fmt.Errorf("%w: timestamp is not a Unix time", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return ErrStale
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: malformed signature", ErrBadSignature)
		}
	}()
	ok, verr := eventwebhook.VerifySignature(publicKey, rawBody, signature, timestamp)
	if verr != nil {
		return fmt.Errorf("%w: malformed signature", ErrBadSignature)
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}
