// Package sendgridtest is a local stand-in for SendGrid's v3 Mail Send API
// (POST /v3/mail/send), for tests and benchmarks.
//
// It answers as SendGrid does for the parts Beckon uses: Bearer API key, JSON
// validation with SendGrid's {"errors":[{"message","field","help"}]} body,
// 202 with an X-Message-Id header and an empty body. It records every
// request, can be told to fail or delay the next calls, and is safe for
// concurrent use.
//
// Like net/http/httptest, it is a test helper that sits beside what it fakes:
// tests import it, the beckon binary never does.
package sendgridtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/beckonhealth/beckon/channels/channelstest"
)

// APIKey is the key New accepts.
const APIKey = "SG.fake-key-id.fake-key-secret"

// Request is one request the server received.
type Request struct {
	Time   time.Time
	Method string
	Path   string
	Header http.Header
	Body   []byte
	JSON   map[string]any // the decoded body, nil if it was not JSON
}

// Mail is the subset of a v3 mail send body the fake reads.
type Mail struct {
	Personalizations []Personalization `json:"personalizations"`
	From             *Address          `json:"from"`
	ReplyTo          *Address          `json:"reply_to,omitempty"`
	Subject          string            `json:"subject"`
	Content          []Content         `json:"content"`
	Categories       []string          `json:"categories,omitempty"`
	CustomArgs       map[string]string `json:"custom_args,omitempty"`
	SendAt           int64             `json:"send_at,omitempty"`
	TemplateID       string            `json:"template_id,omitempty"`
	Headers          map[string]string `json:"headers,omitempty"`
}

// Personalization is one envelope of a mail.
type Personalization struct {
	To         []Address         `json:"to"`
	CC         []Address         `json:"cc,omitempty"`
	BCC        []Address         `json:"bcc,omitempty"`
	Subject    string            `json:"subject,omitempty"`
	CustomArgs map[string]string `json:"custom_args,omitempty"`
}

// Address is an email address with an optional name.
type Address struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

// Content is one body part.
type Content struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Accepted is a mail the server accepted.
type Accepted struct {
	MessageID string
	At        time.Time
	Mail      Mail
}

// FieldError is one entry of SendGrid's error body.
type FieldError struct {
	Message string `json:"message"`
	Field   any    `json:"field"` // string, or nil
	Help    any    `json:"help"`  // string, or nil
}

// Failure is an answer to give instead of the normal one.
type Failure struct {
	Status int
	Errors []FieldError // SendGrid's error list; a default one when empty
	// Headers are added to the answer, e.g. Retry-After or X-RateLimit-Reset.
	Headers map[string]string
	// RawBody, when set, is written as is (text/html), as a proxy would.
	RawBody string
}

// Common failures, as SendGrid answers them.
var (
	ErrBadRequest = Failure{Status: 400, Errors: []FieldError{{Message: "Does not contain a valid address.", Field: "personalizations.0.to.0.email", Help: "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to"}}}
	ErrForbidden  = Failure{Status: 403, Errors: []FieldError{{Message: "The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved.", Field: "from", Help: nil}}}
	ErrTooLarge   = Failure{Status: 413, Errors: []FieldError{{Message: "The JSON payload you have included in your request is too large.", Field: nil, Help: nil}}}
	ErrInternal   = Failure{Status: 500, Errors: []FieldError{{Message: "Internal server error", Field: nil, Help: nil}}}
)

// RateLimited is a 429 with SendGrid's rate limit headers; reset is when the
// limit resets.
func RateLimited(reset time.Time) Failure {
	return Failure{
		Status: 429,
		Errors: []FieldError{{Message: "too many requests", Field: nil, Help: nil}},
		Headers: map[string]string{
			"X-RateLimit-Limit":     "600",
			"X-RateLimit-Remaining": "0",
			"X-RateLimit-Reset":     strconv.FormatInt(reset.Unix(), 10),
		},
	}
}

// Server is a running fake. Create it with New and Close it when done.
type Server struct {
	*httptest.Server

	// Script logs the requests and holds the failures and delays to come
	// (FailNext, DelayNext, SetDelay, Requests, KeepRequests, Tap).
	channelstest.Script[Request, Failure]

	mu       sync.Mutex
	now      func() time.Time
	keys     map[string]bool
	sandbox  bool
	accepted []Accepted
}

// New starts a fake that accepts APIKey.
func New() *Server {
	s := &Server{now: time.Now, keys: map[string]bool{APIKey: true}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddKey registers another accepted API key.
func (s *Server) AddKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = true
}

// SetNow replaces the server's clock.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Accepted returns a copy of every mail accepted so far, oldest first.
func (s *Server) Accepted() []Accepted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.accepted)
}

// Reset forgets requests, mails, pending failures and delays.
func (s *Server) Reset() {
	s.ResetScript()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted = nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	var js map[string]any
	if json.Unmarshal(body, &js) == nil {
		rec.JSON = js
	}
	s.mu.Lock()
	rec.Time = s.now()
	s.mu.Unlock()
	fail, delay := s.Received(rec)

	status, header, out := s.answer(r, body, fail)
	channelstest.Answer(w, r, delay, status, header, out)
}

func errorAnswer(h http.Header, f Failure) (int, http.Header, []byte) {
	for k, v := range f.Headers {
		h.Set(k, v)
	}
	if f.RawBody != "" {
		h.Set("Content-Type", "text/html")
		return f.Status, h, []byte(f.RawBody)
	}
	errs := f.Errors
	if len(errs) == 0 {
		errs = []FieldError{{Message: http.StatusText(f.Status)}}
	}
	h.Set("Content-Type", "application/json")
	b, _ := json.Marshal(map[string]any{"errors": errs})
	return f.Status, h, b
}

func fieldErr(field, msg string) Failure {
	return Failure{Status: 400, Errors: []FieldError{{
		Message: msg,
		Field:   field,
		Help:    "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message." + field,
	}}}
}

func (s *Server) answer(r *http.Request, body []byte, fail *Failure) (int, http.Header, []byte) {
	h := http.Header{}
	h.Set("Access-Control-Allow-Origin", "https://sendgrid.api-docs.io")
	if r.URL.Path != "/v3/mail/send" {
		return errorAnswer(h, Failure{Status: 404, Errors: []FieldError{{Message: "Not Found"}}})
	}
	if r.Method != http.MethodPost {
		return errorAnswer(h, Failure{Status: 405, Errors: []FieldError{{Message: "Method Not Allowed"}}})
	}
	auth := r.Header.Get("Authorization")
	const prefix = "Bearer "
	s.mu.Lock()
	ok := len(auth) > len(prefix) && auth[:len(prefix)] == prefix && s.keys[auth[len(prefix):]]
	s.mu.Unlock()
	if !ok {
		return errorAnswer(h, Failure{Status: 401, Errors: []FieldError{{Message: "The provided authorization grant is invalid, expired, or revoked", Field: nil, Help: nil}}})
	}
	if fail != nil {
		return errorAnswer(h, *fail)
	}
	if len(body) > 30<<20 {
		return errorAnswer(h, ErrTooLarge)
	}
	var m Mail
	if err := json.Unmarshal(body, &m); err != nil {
		return errorAnswer(h, Failure{Status: 400, Errors: []FieldError{{Message: "Bad Request", Field: nil, Help: nil}}})
	}
	if f := validate(m); f != nil {
		return errorAnswer(h, *f)
	}

	id := randID()
	s.mu.Lock()
	s.accepted = append(s.accepted, Accepted{MessageID: id, At: s.now(), Mail: m})
	s.mu.Unlock()
	h.Set("X-Message-Id", id)
	return http.StatusAccepted, h, nil
}

// validate checks a mail as SendGrid does, first error only.
func validate(m Mail) *Failure {
	fail := func(field, msg string) *Failure { f := fieldErr(field, msg); return &f }
	if len(m.Personalizations) == 0 {
		return fail("personalizations", "The personalizations field is required and must have at least one personalization.")
	}
	if len(m.Personalizations) > 1000 {
		return fail("personalizations", "The personalizations field is limited to 1000 objects.")
	}
	for i, p := range m.Personalizations {
		if len(p.To) == 0 {
			return fail("personalizations."+strconv.Itoa(i)+".to", "The to array is required for all personalization objects, and must have at least one email object with a valid email address.")
		}
		for j, a := range p.To {
			if !validAddress(a.Email) {
				return fail("personalizations."+strconv.Itoa(i)+".to."+strconv.Itoa(j)+".email", "Does not contain a valid address.")
			}
		}
	}
	if m.From == nil || m.From.Email == "" {
		return fail("from.email", "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.")
	}
	if !validAddress(m.From.Email) {
		return fail("from.email", "The from email does not contain a valid address.")
	}
	if m.TemplateID == "" {
		if m.Subject == "" {
			for _, p := range m.Personalizations {
				if p.Subject == "" {
					return fail("subject", "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.")
				}
			}
		}
		if len(m.Content) == 0 {
			return fail("content", "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.")
		}
	}
	for i, c := range m.Content {
		if c.Type == "" || c.Value == "" {
			return fail("content."+strconv.Itoa(i)+".value", "The content value must be a string at least one character in length.")
		}
		if i == 0 && c.Type != "text/plain" && slices.ContainsFunc(m.Content, func(c Content) bool { return c.Type == "text/plain" }) {
			return fail("content.0.type", "The text/plain content type must be first, followed by any other content.")
		}
	}
	for k := range m.CustomArgs {
		if k == "" {
			return fail("custom_args", "Custom arg keys must not be empty.")
		}
	}
	if len(m.Categories) > 10 {
		return fail("categories", "You cannot have more than 10 categories per request.")
	}
	return nil
}

func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// randID returns an id shaped like SendGrid's X-Message-Id (22 url-safe
// base64 characters).
func randID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
