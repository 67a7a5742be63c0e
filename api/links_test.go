package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/links"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// linkBundle is a server with a manual clock, clinic A's patient with an
// upcoming appointment and an email send about it, and clinic B.
type linkBundle struct {
	t      *testing.T
	ctx    context.Context
	st     beckon.Store
	srv    *httptest.Server
	clock  *beckon.ManualClock
	signer *links.Signer
	a, b   beckon.Clinic
	pat    beckon.Patient
	appt   beckon.Appointment
	send   beckon.Send
}

func setupLinks(t *testing.T, lang string) *linkBundle {
	t.Helper()
	st := storetest.Open(t)
	clock := beckon.NewManualClock(time.Now())
	logger := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(api.New(api.Config{
		Store:   st,
		Service: &scheduler.Service{Store: st, Clock: clock, Logger: logger},
		Clock:   clock,
		Logger:  logger,
	}))
	t.Cleanup(srv.Close)
	lb := &linkBundle{t: t, ctx: context.Background(), st: st, srv: srv, clock: clock}
	lb.a = storetest.Clinic(t, st, storetest.ClinicOpts{Name: "Clinic A"})
	lb.b = storetest.Clinic(t, st, storetest.ClinicOpts{Name: "Clinic B"})
	lb.pat = storetest.Patient(t, st, lb.a.ID, storetest.PatientOpts{Email: "ana@example.com", Language: lang})
	lb.appt = storetest.Appointment(t, st, lb.a.ID, storetest.AppointmentOpts{
		PatientID: lb.pat.ID,
		Start:     time.Date(2030, 3, 9, 15, 30, 0, 0, time.UTC),
	})
	lb.send = storetest.Send(t, st, lb.a.ID, storetest.SendOpts{
		AppointmentID: lb.appt.ID, PatientID: lb.pat.ID, Channel: beckon.ChannelEmail,
	})
	var err error
	// The installation's key, as the server loads it (same store).
	if lb.signer, err = (&links.Keys{Store: st}).Signer(lb.ctx); err != nil {
		t.Fatal(err)
	}
	return lb
}

// token signs a link of the bundle's send in clinic clinicID.
func (lb *linkBundle) token(clinicID, action string) string {
	lb.t.Helper()
	tok, err := lb.signer.Sign(links.Link{
		ClinicID: clinicID, AppointmentID: lb.appt.ID, SendID: lb.send.ID, Action: action,
		Expires: links.Expiry(action, lb.appt.Start, lb.clock.Now()),
	})
	if err != nil {
		lb.t.Fatal(err)
	}
	return tok
}

// call sends a GET or a form POST (body nil: none) with extra headers.
func (lb *linkBundle) call(method, tok string, form url.Values, header map[string]string) (int, string) {
	lb.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, lb.srv.URL+links.PathPrefix+tok, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		lb.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		lb.t.Fatalf("%s: Content-Type %q, want an HTML page", method, ct)
	}
	return resp.StatusCode, string(raw)
}

func (lb *linkBundle) press(tok string) (int, string) {
	return lb.call(http.MethodPost, tok, url.Values{"token": {tok}}, nil)
}

func (lb *linkBundle) confirmation() string {
	lb.t.Helper()
	a, err := lb.st.AppointmentGet(lb.ctx, lb.a.ID, lb.appt.ID)
	if err != nil {
		lb.t.Fatal(err)
	}
	return a.Confirmation
}

func wantPage(t *testing.T, what string, status int, page string, wantStatus int, wantText ...string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d, want %d; page:\n%s", what, status, wantStatus, page)
	}
	for _, w := range wantText {
		if !strings.Contains(page, w) {
			t.Fatalf("%s: page lacks %q:\n%s", what, w, page)
		}
	}
}

func TestLinkConfirm(t *testing.T) {
	t.Parallel()
	lb := setupLinks(t, "en")
	tok := lb.token(lb.a.ID, links.Confirm)

	// A GET (a mail scanner, a preview) shows the button and changes nothing.
	for range 2 {
		st, page := lb.call(http.MethodGet, tok, nil, nil)
		wantPage(t, "GET", st, page, http.StatusOK, "Clinic A", "Confirm appointment", `method="post"`, "Date", "Time")
	}
	if got := lb.confirmation(); got != beckon.Unconfirmed {
		t.Fatalf("after GET: confirmation %q, want unconfirmed", got)
	}
	if cs, _ := lb.st.ConfirmationList(lb.ctx, lb.a.ID, lb.appt.ID); len(cs) != 0 {
		t.Fatalf("after GET: %d confirmations recorded", len(cs))
	}

	st, page := lb.press(tok)
	wantPage(t, "POST", st, page, http.StatusOK, "Appointment confirmed")
	if got := lb.confirmation(); got != beckon.Confirmed {
		t.Fatalf("after POST: confirmation %q, want confirmed", got)
	}
	cs, err := lb.st.ConfirmationList(lb.ctx, lb.a.ID, lb.appt.ID)
	if err != nil || len(cs) != 1 || cs[0].By != "patient" || cs[0].Method != "email" || cs[0].Response != beckon.ResponseConfirmed {
		t.Fatalf("confirmations %+v, %v: want one, confirmed by patient by email", cs, err)
	}

	// Used: a second press, or opening it again, is 410 and changes nothing.
	st, page = lb.press(tok)
	wantPage(t, "POST again", st, page, http.StatusGone, "already been used")
	st, page = lb.call(http.MethodGet, tok, nil, nil)
	wantPage(t, "GET after use", st, page, http.StatusGone, "already been used")
	if cs, _ := lb.st.ConfirmationList(lb.ctx, lb.a.ID, lb.appt.ID); len(cs) != 1 {
		t.Fatalf("after a reuse: %d confirmations, want 1", len(cs))
	}
}

func TestLinkCancelSpanish(t *testing.T) {
	t.Parallel()
	lb := setupLinks(t, "es")
	tok := lb.token(lb.a.ID, links.Cancel)
	st, page := lb.call(http.MethodGet, tok, nil, nil)
	wantPage(t, "GET", st, page, http.StatusOK, `lang="es"`, "Pedir cancelación", "Fecha", "marzo")
	st, page = lb.press(tok)
	wantPage(t, "POST", st, page, http.StatusOK, "Cancelación pedida")
	if got := lb.confirmation(); got != beckon.ResponseCancelRequested {
		t.Fatalf("confirmation %q, want cancel_requested", got)
	}
}

func TestLinkExpired(t *testing.T) {
	t.Parallel()
	lb := setupLinks(t, "en")
	tok := lb.token(lb.a.ID, links.Confirm)
	lb.clock.Set(lb.appt.Start) // the link expires when the appointment starts
	st, page := lb.call(http.MethodGet, tok, nil, nil)
	wantPage(t, "GET", st, page, http.StatusGone, "expired")
	st, page = lb.press(tok)
	wantPage(t, "POST", st, page, http.StatusGone, "expired")
	if got := lb.confirmation(); got != beckon.Unconfirmed {
		t.Fatalf("confirmation %q after an expired link, want unconfirmed", got)
	}
}

func TestLinkForged(t *testing.T) {
	t.Parallel()
	lb := setupLinks(t, "en")
	tok := lb.token(lb.a.ID, links.Confirm)
	p64, sig, _ := strings.Cut(tok, ".")
	other, _ := links.NewSigner([]byte(strings.Repeat("k", links.KeySize)))
	forgedTok, _ := other.Sign(links.Link{ClinicID: lb.a.ID, AppointmentID: lb.appt.ID, SendID: lb.send.ID,
		Action: links.Confirm, Expires: lb.appt.Start})
	for name, bad := range map[string]string{
		"other key": forgedTok,
		"tampered":  p64 + "." + strings.Repeat("A", len(sig)),
		"garbage":   "hello",
	} {
		st, page := lb.call(http.MethodGet, bad, nil, nil)
		wantPage(t, name+" GET", st, page, http.StatusBadRequest, "not valid")
		st, page = lb.press(bad)
		wantPage(t, name+" POST", st, page, http.StatusBadRequest, "not valid")
	}
	if got := lb.confirmation(); got != beckon.Unconfirmed {
		t.Fatalf("confirmation %q after forged links, want unconfirmed", got)
	}
}

func TestLinkOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	lb := setupLinks(t, "en")
	// The email went out: its message id is what the ledger entry names.
	now := lb.clock.Now()
	if _, claimed, err := lb.st.SendClaim(lb.ctx, beckon.SendClaimParams{ClinicID: lb.a.ID, ID: lb.send.ID, Token: "tk", Now: now}); err != nil || !claimed {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	if err := lb.st.SendFinish(lb.ctx, beckon.SendFinishParams{ID: lb.send.ID, Token: "tk", Status: beckon.SendSent, MessageID: "msg_email_1", Now: now}); err != nil {
		t.Fatal(err)
	}
	tok := lb.token(lb.a.ID, links.Unsubscribe)
	oneClick := url.Values{"List-Unsubscribe": {"One-Click"}}
	for i := range 2 { // pressed again: harmless, the same answer
		st, page := lb.call(http.MethodPost, tok, oneClick, nil)
		wantPage(t, "one-click", st, page, http.StatusOK, "unsubscribed")
		if i == 0 {
			st, page = lb.call(http.MethodGet, tok, nil, nil)
			wantPage(t, "GET after", st, page, http.StatusOK, "Unsubscribe")
		}
	}
	h, err := lb.st.ConsentHistory(lb.ctx, lb.a.ID, lb.pat.ID)
	if err != nil || len(h) != 1 {
		t.Fatalf("ledger %+v, %v: want one change", h, err)
	}
	c := h[0]
	if c.Channel != beckon.ChannelEmail || c.State != beckon.ConsentOptedOut || c.How != beckon.ConsentUnsubscribe ||
		c.Email != "ana@example.com" || c.PatientID != lb.pat.ID || c.MessageID != "msg_email_1" || c.By != "patient" {
		t.Fatalf("ledger entry %+v: want an email opt-out by unsubscribe for ana@example.com, from msg_email_1", c)
	}
	p, err := lb.st.PatientGet(lb.ctx, lb.a.ID, lb.pat.ID)
	if err != nil || p.EmailConsent != beckon.ConsentOptedOut {
		t.Fatalf("patient email consent %q, %v: want opted_out", p.EmailConsent, err)
	}
}

func TestLinkOtherClinic(t *testing.T) {
	t.Parallel()
	lb := setupLinks(t, "en")
	// A genuine token of clinic B naming clinic A's send and appointment:
	// everything is read in B, which has none of them.
	for _, action := range []string{links.Confirm, links.Unsubscribe} {
		tok := lb.token(lb.b.ID, action)
		st, page := lb.call(http.MethodGet, tok, nil, nil)
		wantPage(t, action+" GET", st, page, http.StatusGone, "no longer")
		st, page = lb.call(http.MethodPost, tok, url.Values{"token": {tok}, "List-Unsubscribe": {"One-Click"}}, nil)
		wantPage(t, action+" POST", st, page, http.StatusGone, "no longer")
	}
	if got := lb.confirmation(); got != beckon.Unconfirmed {
		t.Fatalf("clinic A's appointment: %q, want unconfirmed", got)
	}
	if h, _ := lb.st.ConsentHistory(lb.ctx, lb.a.ID, lb.pat.ID); len(h) != 0 {
		t.Fatalf("clinic A's ledger: %+v, want nothing", h)
	}
}

func TestLinkCrossSitePost(t *testing.T) {
	t.Parallel()
	lb := setupLinks(t, "en")
	tok := lb.token(lb.a.ID, links.Confirm)
	st, page := lb.call(http.MethodPost, tok, url.Values{}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	wantPage(t, "cross-site without token", st, page, http.StatusForbidden, "Request refused")
	st, page = lb.call(http.MethodPost, tok, url.Values{}, map[string]string{"Origin": "https://evil.example"})
	wantPage(t, "other origin without token", st, page, http.StatusForbidden)
	if got := lb.confirmation(); got != beckon.Unconfirmed {
		t.Fatalf("after refused posts: %q, want unconfirmed", got)
	}
	st, page = lb.call(http.MethodPost, tok, url.Values{"token": {tok}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	wantPage(t, "cross-site with the token", st, page, http.StatusOK, "confirmed")
	big := url.Values{"token": {strings.Repeat("x", 4<<10)}}
	st, page = lb.call(http.MethodPost, tok, big, nil)
	wantPage(t, "oversized body", st, page, http.StatusRequestEntityTooLarge)
}
