// Package links makes and checks the signed links of Beckon's emails:
// confirm or cancel an appointment, unsubscribe from email. A link's token
// names its clinic, appointment, send, action and expiry, and carries an
// HMAC-SHA256 of them under the installation's key (kept in the store,
// shared by every process), so it is a capability: whoever holds it may do
// that one thing, once, until it expires. Nothing else is trusted from it.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Actions a link can do.
const (
	Confirm     = "confirm"
	Cancel      = "cancel"
	Unsubscribe = "unsubscribe"
)

// PathPrefix is the path of every link: PathPrefix + token.
const PathPrefix = "/l/"

// UnsubscribeTTL is how long an unsubscribe link works.
const UnsubscribeTTL = 60 * 24 * time.Hour

// KeySize is the size of the signing key (and the least Signer accepts).
const KeySize = 32

// sigSize is the kept part of the HMAC-SHA256 (128 bits).
const sigSize = 16

// MaxTokenLen bounds a token: longer ones are refused before any decoding.
const MaxTokenLen = 512

// version is the first byte of a token's payload.
const version = 1

// Errors of Verify.
var (
	// ErrInvalid: malformed, or its signature does not verify (forged,
	// tampered with, or signed with another key).
	ErrInvalid = errors.New("links: invalid link")
	// ErrExpired: a genuine link past its expiry.
	ErrExpired = errors.New("links: expired link")
)

// Link is what a token says.
type Link struct {
	ClinicID      string
	AppointmentID string
	SendID        string
	Action        string // Confirm, Cancel or Unsubscribe
	Expires       time.Time
}

// Expiry is when a link of action made at now about an appointment
// starting at start stops working: confirm and cancel at the start, an
// unsubscribe link UnsubscribeTTL after now.
func Expiry(action string, start, now time.Time) time.Time {
	if action == Unsubscribe {
		return now.Add(UnsubscribeTTL).Truncate(time.Second)
	}
	return start.Truncate(time.Second)
}

// Signer signs and verifies tokens with one key.
type Signer struct {
	key []byte
}

// NewSigner returns a signer with key (at least KeySize bytes).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < KeySize {
		return nil, fmt.Errorf("links: key of %d bytes, want at least %d", len(key), KeySize)
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

func validAction(a string) bool { return a == Confirm || a == Cancel || a == Unsubscribe }

// payload is the signed bytes: version, then each field length-prefixed,
// then the expiry in Unix seconds.
func payload(l Link) []byte {
	b := []byte{version}
	for _, f := range []string{l.ClinicID, l.AppointmentID, l.SendID, l.Action} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return binary.AppendVarint(b, l.Expires.Unix())
}

func (s *Signer) mac(p []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(p)
	return h.Sum(nil)[:sigSize]
}

var enc = base64.RawURLEncoding

// Sign returns l's token: URL-safe base64 of the payload and of its
// signature, joined by a dot.
func (s *Signer) Sign(l Link) (string, error) {
	if l.ClinicID == "" || l.SendID == "" || !validAction(l.Action) || l.Expires.IsZero() {
		return "", fmt.Errorf("links: a link needs a clinic, a send, an action and an expiry")
	}
	p := payload(l)
	tok := enc.EncodeToString(p) + "." + enc.EncodeToString(s.mac(p))
	if len(tok) > MaxTokenLen {
		return "", fmt.Errorf("links: ids too long for a link")
	}
	return tok, nil
}

// URL is the absolute URL of l under base (Beckon's public base URL).
func (s *Signer) URL(base string, l Link) (string, error) {
	tok, err := s.Sign(l)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(base, "/") + PathPrefix + tok, nil
}

// Verify checks token and returns its link: ErrInvalid unless it is well
// formed and signed with this key, ErrExpired (with the link) when it is
// genuine but now is at or past its expiry. The signature is compared in
// constant time before anything in the payload is read.
func (s *Signer) Verify(token string, now time.Time) (Link, error) {
	if len(token) > MaxTokenLen {
		return Link{}, ErrInvalid
	}
	p64, sig64, ok := strings.Cut(token, ".")
	if !ok {
		return Link{}, ErrInvalid
	}
	p, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(sig64)
	if err1 != nil || err2 != nil || len(sig) != sigSize {
		return Link{}, ErrInvalid
	}
	if !hmac.Equal(sig, s.mac(p)) {
		return Link{}, ErrInvalid
	}
	l, ok := parse(p)
	if !ok {
		return Link{}, ErrInvalid
	}
	if !now.Before(l.Expires) {
		return l, ErrExpired
	}
	return l, nil
}

// parse reads a payload made by payload.
func parse(p []byte) (Link, bool) {
	if len(p) == 0 || p[0] != version {
		return Link{}, false
	}
	p = p[1:]
	var fs [4]string
	for i := range fs {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return Link{}, false
		}
		fs[i] = string(p[k : k+int(n)])
		p = p[k+int(n):]
	}
	exp, k := binary.Varint(p)
	if k <= 0 || k != len(p) {
		return Link{}, false
	}
	l := Link{ClinicID: fs[0], AppointmentID: fs[1], SendID: fs[2], Action: fs[3], Expires: time.Unix(exp, 0).UTC()}
	if l.ClinicID == "" || l.SendID == "" || !validAction(l.Action) {
		return Link{}, false
	}
	return l, true
}

// ID is the link's id, what marks it used: a digest of everything it
// names, so the same link signed twice (an email rendered again) has one id.
func (l Link) ID() string {
	sum := sha256.Sum256(payload(l))
	return "lnk_" + enc.EncodeToString(sum[:18])
}
