// Package webhooksig signs the webhooks Beckon sends to clinics (EHR
// write-backs and events) as the Standard Webhooks specification describes:
// headers webhook-id, webhook-timestamp (unix seconds) and
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>", keyed
// with the bytes of the secret "whsec_<base64>".
package webhooksig

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Prefix starts every secret.
const Prefix = "whsec_"

// ErrSecret means a secret is not "whsec_" and the base64 of 24 to 64 bytes.
var ErrSecret = errors.New(`a webhook secret is "whsec_" followed by the base64 of 24 to 64 random bytes (Standard Webhooks)`)

// Key decodes a secret into the signing key.
func Key(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, Prefix)
	if !ok {
		return nil, ErrSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, ErrSecret
	}
	return key, nil
}

// Valid reports whether secret is one Key accepts.
func Valid(secret string) bool {
	_, err := Key(secret)
	return err == nil
}

// NewSecret returns a new random secret of 32 bytes.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return Prefix + base64.StdEncoding.EncodeToString(b[:])
}

// Sign is the v1 signature (without the "v1," prefix) of a message.
func Sign(key []byte, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SetHeaders sets the three signature headers of the message id sent at at.
func SetHeaders(h http.Header, key []byte, id string, at time.Time, body []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+Sign(key, id, ts, body))
}
