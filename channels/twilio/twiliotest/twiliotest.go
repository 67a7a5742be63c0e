// Package twiliotest is a local stand-in for the Twilio Programmable Messaging
// REST API (2010-04-01 Messages resource), for tests and benchmarks.
//
// It answers as Twilio does for the parts Beckon uses: basic auth with the
// account SID and auth token, form validation with Twilio's error codes and
// JSON error body, 201 with a message resource on create, the paged list with
// the To, From and DateSent filters, and signed status callbacks. It records
// every request, can be told to fail or delay the next calls, and is safe for
// concurrent use.
//
// Like net/http/httptest, it is a test helper that sits beside what it fakes:
// tests and cmd/beckon-bench import it, the beckon binary never does.
package twiliotest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beckonhealth/beckon/channels/channelstest"
)

// Default credentials of the account New creates. Both are alphanumeric, as
// the SDK requires.
const (
	AccountSID = "AC00000000000000000000000000000001"
	AuthToken  = "0123456789abcdef0123456789abcdef"
)

// Request is one request the server received.
type Request struct {
	Time   time.Time
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Form   url.Values // the parsed url-encoded body (POST), nil otherwise
	Body   []byte
}

// Message is a message resource the server accepted.
type Message struct {
	SID                 string
	AccountSID          string
	To                  string
	From                string // empty when sent through a messaging service only
	MessagingServiceSID string
	Body                string
	MediaURL            []string
	Status              string
	StatusCallback      string
	ValidityPeriod      int // seconds, 0 when not given
	DateCreated         time.Time
	DateUpdated         time.Time
	DateSent            time.Time // zero until sent
	NumSegments         int
}

// Failure is an answer to give instead of the normal one.
type Failure struct {
	Status     int    // HTTP status, e.g. 400, 429, 500
	Code       int    // Twilio error code, e.g. 21211; 0 for none
	Message    string // Twilio's message; a default is used when empty
	RetryAfter string // Retry-After header value, if any
	// RawBody, when set, is written as is (with content type text/html) instead
	// of Twilio's JSON error, to imitate a proxy or load balancer.
	RawBody string
}

// Common failures, as Twilio answers them.
var (
	ErrInvalidTo          = Failure{Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number"}
	ErrUnsubscribed       = Failure{Status: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"}
	ErrNotMobile          = Failure{Status: 400, Code: 21614, Message: "'To' number is not a valid mobile number"}
	ErrTooManyRequests    = Failure{Status: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: "7"}
	ErrInternal           = Failure{Status: 500, Code: 20500, Message: "Internal Server Error"}
	ErrServiceUnavailable = Failure{Status: 503, Code: 20503, Message: "Service Unavailable"}
)

// Server is a running fake. Create it with New and Close it when done.
type Server struct {
	*httptest.Server

	// Script logs the requests and holds the failures and delays to come
	// (FailNext, DelayNext, SetDelay, Requests, KeepRequests, Tap).
	channelstest.Script[Request, Failure]

	mu        sync.Mutex
	now       func() time.Time
	accounts  map[string]string // sid → token
	messages  []Message
	pageSeqNo int
}

// New starts a fake with one account (AccountSID, AuthToken).
func New() *Server {
	s := &Server{
		now:      time.Now,
		accounts: map[string]string{AccountSID: AuthToken},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddAccount registers another account the server accepts.
func (s *Server) AddAccount(sid, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[sid] = token
}

// SetNow replaces the server's clock (date_created, date_sent).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Messages returns a copy of every message accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Message returns the accepted message with the given SID.
func (s *Server) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.SID == sid {
			return m, true
		}
	}
	return Message{}, false
}

// Reset forgets requests, messages, pending failures and delays.
func (s *Server) Reset() {
	s.ResetScript()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// The request never arrived whole (its sender was cut off or died
		// mid-write): Twilio acts on none of it, and a form cut short can
		// still parse (a To cut to a shorter number).
		return
	}
	rec := Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   body,
	}
	if r.Method == http.MethodPost {
		if f, err := url.ParseQuery(string(body)); err == nil {
			rec.Form = f
		}
	}

	s.mu.Lock()
	rec.Time = s.now()
	s.mu.Unlock()
	fail, delay := s.Received(rec)

	// The answer is computed (and a create recorded) before the delay.
	status, header, out := s.answer(r, rec, fail)
	channelstest.Answer(w, r, delay, status, header, out)
}

// answer returns the status, headers and body for a request.
func (s *Server) answer(r *http.Request, rec Request, fail *Failure) (int, http.Header, []byte) {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Twilio-Request-Id", "RQ"+randHex(16))

	// Route: /2010-04-01/Accounts/{sid}/Messages.json
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != "2010-04-01" || parts[1] != "Accounts" || parts[3] != "Messages.json" {
		return errorAnswer(h, Failure{Status: 404, Code: 20404, Message: "The requested resource " + r.URL.Path + " was not found"})
	}
	sid := parts[2]

	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	token, known := s.accounts[sid]
	s.mu.Unlock()
	if !ok || !known || user != sid || pass != token {
		h.Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		return errorAnswer(h, Failure{Status: 401, Code: 20003, Message: "Authenticate"})
	}
	if fail != nil {
		if fail.RetryAfter != "" {
			h.Set("Retry-After", fail.RetryAfter)
		}
		if fail.RawBody != "" {
			h.Set("Content-Type", "text/html")
			return fail.Status, h, []byte(fail.RawBody)
		}
		return errorAnswer(h, *fail)
	}

	switch r.Method {
	case http.MethodPost:
		return s.create(h, sid, rec.Form)
	case http.MethodGet:
		return s.list(h, sid, r.URL.Query())
	default:
		return errorAnswer(h, Failure{Status: 405, Code: 20004, Message: "Method not allowed"})
	}
}

func errorAnswer(h http.Header, f Failure) (int, http.Header, []byte) {
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	e := map[string]any{
		"code":      f.Code,
		"message":   msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", f.Code),
		"status":    f.Status,
	}
	if f.Code == 0 {
		e["code"] = nil
		e["more_info"] = nil
	}
	b, _ := json.Marshal(e)
	return f.Status, h, b
}

func (s *Server) create(h http.Header, account string, form url.Values) (int, http.Header, []byte) {
	to := form.Get("To")
	from := form.Get("From")
	mss := form.Get("MessagingServiceSid")
	body := form.Get("Body")
	media := form["MediaUrl"]
	switch {
	case to == "":
		return errorAnswer(h, Failure{Status: 400, Code: 21604, Message: "A 'To' phone number is required."})
	case !isE164(to):
		return errorAnswer(h, Failure{Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number"})
	case from == "" && mss == "":
		return errorAnswer(h, Failure{Status: 400, Code: 21603, Message: "A 'From' phone number is required."})
	case from != "" && !isE164(from) && !isShortCodeOrAlpha(from):
		return errorAnswer(h, Failure{Status: 400, Code: 21212, Message: "Invalid From Number (caller ID)"})
	case mss != "" && (!strings.HasPrefix(mss, "MG") || len(mss) != 34):
		return errorAnswer(h, Failure{Status: 400, Code: 21701, Message: "The Messaging Service Sid is invalid."})
	case body == "" && len(media) == 0:
		return errorAnswer(h, Failure{Status: 400, Code: 21602, Message: "Message body is required."})
	case len([]rune(body)) > 1600:
		return errorAnswer(h, Failure{Status: 400, Code: 21617, Message: "The concatenated message body exceeds the 1600 character limit."})
	}
	vp := 0
	if v := form.Get("ValidityPeriod"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 36000 {
			return errorAnswer(h, Failure{Status: 400, Code: 21623, Message: "Invalid Validity Period value"})
		}
		vp = n
	}
	if cb := form.Get("StatusCallback"); cb != "" {
		if u, err := url.Parse(cb); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errorAnswer(h, Failure{Status: 400, Code: 21609, Message: "Invalid StatusCallback"})
		}
	}

	s.mu.Lock()
	now := s.now().UTC().Truncate(time.Second)
	m := Message{
		SID:                 "SM" + randHex(16),
		AccountSID:          account,
		To:                  to,
		From:                from,
		MessagingServiceSID: mss,
		Body:                body,
		MediaURL:            media,
		Status:              "queued",
		StatusCallback:      form.Get("StatusCallback"),
		ValidityPeriod:      vp,
		DateCreated:         now,
		DateUpdated:         now,
		NumSegments:         segments(body),
	}
	if from == "" {
		// Through a messaging service without a sender: Twilio picks the
		// sender later and answers "accepted".
		m.Status = "accepted"
		m.NumSegments = 0
	}
	s.messages = append(s.messages, m)
	s.mu.Unlock()

	b, _ := json.Marshal(resource(m))
	return http.StatusCreated, h, b
}

// resource renders m as Twilio's JSON message resource.
func resource(m Message) map[string]any {
	opt := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	date := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC1123Z)
	}
	uri := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s", m.AccountSID, m.SID)
	return map[string]any{
		"account_sid":           m.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  m.Body,
		"date_created":          date(m.DateCreated),
		"date_sent":             date(m.DateSent),
		"date_updated":          date(m.DateUpdated),
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  opt(m.From),
		"messaging_service_sid": opt(m.MessagingServiceSID),
		"num_media":             strconv.Itoa(len(m.MediaURL)),
		"num_segments":          strconv.Itoa(m.NumSegments),
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                m.Status,
		"subresource_uris": map[string]any{
			"media":    uri + "/Media.json",
			"feedback": uri + "/Feedback.json",
		},
		"to":  m.To,
		"uri": uri + ".json",
	}
}

// list answers GET Messages.json, newest first, with Twilio's paging fields.
// Filters: To, From, DateSent, DateSent<, DateSent> (RFC 3339 or YYYY-MM-DD;
// the inequalities are inclusive, as Twilio's are). A message not yet sent
// (no date_sent) never matches a DateSent filter, as on Twilio.
func (s *Server) list(h http.Header, account string, q url.Values) (int, http.Header, []byte) {
	pageSize := 50
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errorAnswer(h, Failure{Status: 400, Code: 20001, Message: "Invalid PageSize"})
		}
		pageSize = min(n, 1000)
	}
	page := 0
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errorAnswer(h, Failure{Status: 400, Code: 20001, Message: "Invalid Page"})
		}
		page = n
	}
	var on, before, after time.Time
	for key, dst := range map[string]*time.Time{"DateSent": &on, "DateSent<": &before, "DateSent>": &after} {
		if v := q.Get(key); v != "" {
			t, err := parseDate(v)
			if err != nil {
				return errorAnswer(h, Failure{Status: 400, Code: 20001, Message: "Invalid " + key})
			}
			*dst = t
		}
	}

	s.mu.Lock()
	var match []Message
	for _, m := range s.messages {
		if m.AccountSID != account {
			continue
		}
		if v := q.Get("To"); v != "" && m.To != v {
			continue
		}
		if v := q.Get("From"); v != "" && m.From != v {
			continue
		}
		if !on.IsZero() || !before.IsZero() || !after.IsZero() {
			if m.DateSent.IsZero() {
				continue
			}
			if !on.IsZero() && !sameDay(m.DateSent, on) {
				continue
			}
			if !before.IsZero() && m.DateSent.After(before) {
				continue
			}
			if !after.IsZero() && m.DateSent.Before(after) {
				continue
			}
		}
		match = append(match, m)
	}
	s.mu.Unlock()

	// Newest first (date_created, then insertion order).
	slices.Reverse(match)
	sort.SliceStable(match, func(i, j int) bool { return match[i].DateCreated.After(match[j].DateCreated) })

	start := page * pageSize
	end := min(start+pageSize, len(match))
	if start > len(match) {
		start = len(match)
	}
	msgs := make([]any, 0, end-start)
	for _, m := range match[start:end] {
		msgs = append(msgs, resource(m))
	}

	base := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages.json", account)
	pageURI := func(p int) string {
		v := url.Values{}
		for _, k := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
			if x := q.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		v.Set("PageSize", strconv.Itoa(pageSize))
		v.Set("Page", strconv.Itoa(p))
		if p > 0 {
			v.Set("PageToken", "PA"+randHex(16))
		}
		return base + "?" + v.Encode()
	}
	var next, prev any
	if end < len(match) {
		next = pageURI(page + 1)
	}
	if page > 0 {
		prev = pageURI(page - 1)
	}
	endIdx := end - 1
	if endIdx < start {
		endIdx = start
	}
	out := map[string]any{
		"first_page_uri":    pageURI(0),
		"next_page_uri":     next,
		"previous_page_uri": prev,
		"page":              page,
		"page_size":         pageSize,
		"start":             start,
		"end":               endIdx,
		"uri":               pageURI(page),
		"messages":          msgs,
	}
	b, _ := json.Marshal(out)
	return http.StatusOK, h, b
}

// Status callbacks.

// SetStatus changes a message's status (and date_sent when it becomes sent or
// delivered) without calling anyone.
func (s *Server) SetStatus(sid, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.messages {
		m := &s.messages[i]
		if m.SID != sid {
			continue
		}
		now := s.now().UTC().Truncate(time.Second)
		m.Status = status
		m.DateUpdated = now
		if (status == "sent" || status == "delivered") && m.DateSent.IsZero() {
			m.DateSent = now
		}
		return true
	}
	return false
}

// MarkAllSent gives every queued message a date_sent and the status "sent",
// as Twilio does once it hands them to the carrier.
func (s *Server) MarkAllSent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Second)
	for i := range s.messages {
		m := &s.messages[i]
		if m.DateSent.IsZero() {
			m.DateSent, m.DateUpdated, m.Status = now, now, "sent"
		}
	}
}

// Callback is a status callback to post.
type Callback struct {
	SID       string // message SID (required)
	Status    string // queued, sent, delivered, undelivered, failed, …
	ErrorCode int    // for undelivered and failed, e.g. 30003
	// URL overrides the message's StatusCallback.
	URL string
	// Client posts the callback; http.DefaultClient when nil.
	Client *http.Client
}

// PostStatus sets the message's status and posts Twilio's status callback to
// its StatusCallback URL (or c.URL), form-encoded and signed with the
// account's auth token in X-Twilio-Signature. It returns the receiver's HTTP
// status.
func (s *Server) PostStatus(ctx context.Context, c Callback) (int, error) {
	if !s.SetStatus(c.SID, c.Status) {
		return 0, fmt.Errorf("twiliotest: no message %s", c.SID)
	}
	m, _ := s.Message(c.SID)
	s.mu.Lock()
	token := s.accounts[m.AccountSID]
	s.mu.Unlock()
	target := c.URL
	if target == "" {
		target = m.StatusCallback
	}
	if target == "" {
		return 0, fmt.Errorf("twiliotest: message %s has no status callback", c.SID)
	}
	form := url.Values{
		"AccountSid":    {m.AccountSID},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {m.SID},
		"SmsSid":        {m.SID},
		"MessageStatus": {c.Status},
		"SmsStatus":     {c.Status},
		"To":            {m.To},
	}
	if m.From != "" {
		form.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if c.ErrorCode != 0 {
		form.Set("ErrorCode", strconv.Itoa(c.ErrorCode))
	}
	encoded := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewBufferString(encoded))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Sign(token, target, form))
	hc := c.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign computes Twilio's X-Twilio-Signature for a form POST to fullURL:
// base64(HMAC-SHA1(token, fullURL + each key and its values, keys sorted)).
func Sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vs := slices.Clone(form[k])
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// helpers

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isShortCodeOrAlpha(s string) bool {
	if len(s) == 0 || len(s) > 11 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == ' ') {
			return false
		}
	}
	return true
}

// segments is a rough count: GSM-7 when all ASCII, else UCS-2.
func segments(body string) int {
	n := len([]rune(body))
	ascii := n == len(body)
	single, multi := 160, 153
	if !ascii {
		single, multi = 70, 67
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

func parseDate(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", v)
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	return ay == by && am == bm && ad == bd
}
