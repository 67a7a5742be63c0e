// Package webhooksigtest is a webhook receiver for tests, whose signature
// check is written from the Standard Webhooks specification
// (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md,
// "Verifying webhook authenticity") and shares no code with the signer.
package webhooksigtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tolerance is how far webhook-timestamp may be from the receiver's time.
const Tolerance = 5 * time.Minute

// Verify checks a request's signature headers against body as the
// specification says: the key is the base64 after "whsec_"; the signed
// content is "<webhook-id>.<webhook-timestamp>.<body>"; webhook-signature
// is a space-delimited list of "<version>,<base64 signature>", of which a
// "v1" one must be HMAC-SHA256 of the content, compared in constant time;
// the timestamp (unix seconds) must be within Tolerance of now.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return errors.New("secret is not base64")
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" || ts == "" {
		return errors.New("missing webhook-id or webhook-timestamp")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not unix seconds")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return errors.New("webhook-timestamp outside the tolerance")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte("."))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(h.Get("webhook-signature"), " ") {
		version, value, ok := strings.Cut(sig, ",")
		if ok && version == "v1" && hmac.Equal([]byte(value), []byte(want)) {
			return nil
		}
	}
	return errors.New("no valid v1 signature")
}

// Request is what the receiver got.
type Request struct {
	At     time.Time // the receiver's time (Now)
	ID     string    // webhook-id
	Body   []byte
	Status int // what the receiver answered
	Err    error
}

// Receiver is an httptest server that verifies every request and answers
// with Answer (200 if nil); a request whose signature fails is answered 401.
type Receiver struct {
	*httptest.Server
	Secret string
	Now    func() time.Time
	// Answer decides the status of the request numbered n (from 0).
	Answer func(n int) int

	mu       sync.Mutex
	requests []Request
	arrived  chan struct{}
}

// NewReceiver starts a receiver, closed when the test ends.
func NewReceiver(t testing.TB, secret string, now func() time.Time, answer func(n int) int) *Receiver {
	r := &Receiver{Secret: secret, Now: now, Answer: answer, arrived: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	got := Request{At: r.Now(), ID: req.Header.Get("webhook-id"), Body: body}
	got.Err = Verify(r.Secret, req.Header, body, got.At)
	r.mu.Lock()
	n := len(r.requests)
	got.Status = http.StatusOK
	switch {
	case got.Err != nil:
		got.Status = http.StatusUnauthorized
	case r.Answer != nil:
		got.Status = r.Answer(n)
	}
	r.requests = append(r.requests, got)
	r.mu.Unlock()
	w.WriteHeader(got.Status)
	r.arrived <- struct{}{}
}

// Requests returns what arrived so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Arrived is signalled once per request, after it was recorded.
func (r *Receiver) Arrived() <-chan struct{} { return r.arrived }
