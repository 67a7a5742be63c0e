package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/links"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/templates"
)

// Email links: GET /l/{token} shows what the link does and a form with one
// button; POST /l/{token} does it. A GET changes nothing (mail scanners
// and previews follow links). The token is the capability (links package):
// it names its clinic, and every read and write here is scoped to that
// clinic. Confirm and cancel work once (the use is recorded in the
// transaction of the effect); unsubscribe may be pressed again and answers
// the same. RFC 8058: a POST with the body List-Unsubscribe=One-Click to an
// unsubscribe link unsubscribes without a page. Logs carry ids only, never
// the token.

// maxLinkFormBytes bounds a link POST's body (a token field, or One-Click).
const maxLinkFormBytes = 2 << 10

// maxLinkConflictRetries bounds the retries of a use that lost a version race.
const maxLinkConflictRetries = 5

func (s *Server) registerLinks() {
	s.linkKeys = &links.Keys{Store: s.store}
	s.handle("GET "+links.PathPrefix+"{token}", http.HandlerFunc(s.linkShow))
	s.handle("POST "+links.PathPrefix+"{token}", http.HandlerFunc(s.linkUse))
}

// linkCtx is a verified link with the records its pages show.
type linkCtx struct {
	link   links.Link
	lang   string
	clinic beckon.Clinic
	appt   beckon.Appointment
	patt   beckon.Patient
	words  pageWords
}

// linkOpen verifies the request's token and reads what the link names. It
// answers the request itself (and returns nil) when the link cannot be
// used: 400 for a forged or malformed token, 410 for an expired one or one
// whose clinic, send or appointment is gone, 503 when the store is down.
func (s *Server) linkOpen(w http.ResponseWriter, r *http.Request) *linkCtx {
	ctx := r.Context()
	lang := pageLang("", r)
	signer, err := s.linkKeys.Signer(ctx)
	if err != nil {
		s.linkFailed(w, r, lang, "link key", links.Link{}, err)
		return nil
	}
	l, err := signer.Verify(r.PathValue("token"), s.cfg.Clock.Now())
	switch {
	case errors.Is(err, links.ErrInvalid):
		s.logger.Warn("email link refused: not valid", slog.String("method", r.Method))
		writeNotice(w, http.StatusBadRequest, lang, linkWords[lang].invalid)
		return nil
	case errors.Is(err, links.ErrExpired):
		lc, ok := s.linkRead(ctx, w, r, l, lang)
		if ok {
			lang = lc.lang
		}
		writeNotice(w, http.StatusGone, lang, linkWords[lang].expired)
		return nil
	}
	lc, ok := s.linkRead(ctx, w, r, l, lang)
	if !ok {
		return nil
	}
	if l.Action != links.Unsubscribe {
		if lc.appt.ID == "" || lc.appt.Status.Ended() || !s.cfg.Clock.Now().Before(lc.appt.Start) {
			writeNotice(w, http.StatusGone, lc.lang, lc.words.gone)
			return nil
		}
	}
	return lc
}

// linkRead reads the link's clinic, send, appointment and patient, in the
// link's clinic only. A record that is gone is answered 410 (ok false
// with the answer written) unless the link is expired anyway (then only
// the language is of use, and nothing is written).
func (s *Server) linkRead(ctx context.Context, w http.ResponseWriter, r *http.Request, l links.Link, lang string) (*linkCtx, bool) {
	lc := &linkCtx{link: l, lang: lang}
	expired := !s.cfg.Clock.Now().Before(l.Expires)
	fail := func(err error) (*linkCtx, bool) {
		if expired {
			return nil, false
		}
		if errors.Is(err, beckon.ErrNotFound) {
			writeNotice(w, http.StatusGone, lc.lang, linkWords[lc.lang].gone)
		} else {
			s.linkFailed(w, r, lc.lang, "link read", l, err)
		}
		return nil, false
	}
	var err error
	if lc.clinic, err = s.store.ClinicGet(ctx, l.ClinicID); err != nil {
		return fail(err)
	}
	send, err := s.store.SendGet(ctx, l.ClinicID, l.SendID)
	if err != nil {
		return fail(err)
	}
	if lc.patt, err = s.store.PatientGet(ctx, l.ClinicID, send.PatientID); err != nil {
		return fail(err)
	}
	lc.lang = pageLang(lc.patt.Language, r)
	lc.words = linkWords[lc.lang]
	if l.AppointmentID != "" {
		lc.appt, err = s.store.AppointmentGet(ctx, l.ClinicID, l.AppointmentID)
		if err != nil && !errors.Is(err, beckon.ErrNotFound) {
			return fail(err)
		}
	}
	return lc, true
}

// linkFailed answers 503 for a failure of Beckon's own, logged with ids.
func (s *Server) linkFailed(w http.ResponseWriter, r *http.Request, lang, what string, l links.Link, err error) {
	s.logger.Error("email link failed", slog.String("step", what), slog.String("method", r.Method),
		slog.String("clinic_id", l.ClinicID), slog.String("send_id", l.SendID),
		slog.String("action", l.Action), slog.String("error", err.Error()))
	w.Header().Set("Retry-After", retryAfter)
	writeNotice(w, http.StatusServiceUnavailable, lang, linkWords[lang].busy)
}

// page is the link's page: the clinic, the appointment in the patient's
// zone and language, and title and message.
func (lc *linkCtx) page(title, msg string) linkPageData {
	d := linkPageData{Lang: lc.lang, Title: title, Message: msg, Clinic: lc.clinic.Name,
		DateLabel: lc.words.date, TimeLabel: lc.words.time}
	if lc.appt.ID != "" && lc.link.Action != links.Unsubscribe {
		td := templates.NewDataLang(lc.clinic, lc.patt, lc.appt, scheduler.Location(lc.clinic, lc.patt), lc.lang)
		d.Date, d.Time = td.Appointment.Date, td.Appointment.Time
	}
	return d
}

// linkShow is GET /l/{token}: what the button will do. It changes nothing.
func (s *Server) linkShow(w http.ResponseWriter, r *http.Request) {
	lc := s.linkOpen(w, r)
	if lc == nil {
		return
	}
	if lc.link.Action != links.Unsubscribe {
		used, err := s.store.LinkUsed(r.Context(), lc.link.ClinicID, lc.link.ID())
		if err != nil {
			s.linkFailed(w, r, lc.lang, "link used", lc.link, err)
			return
		}
		if used {
			writeNotice(w, http.StatusGone, lc.lang, lc.words.used)
			return
		}
	}
	ask := lc.words.ask[lc.link.Action]
	d := lc.page(ask[0], lc.words.askMsg[lc.link.Action])
	d.Button, d.Token = ask[1], r.PathValue("token")
	writePage(w, http.StatusOK, d)
}

// oneClick reports whether form is RFC 8058's one-click unsubscribe body.
func oneClick(form url.Values) bool {
	return form.Get("List-Unsubscribe") == "One-Click"
}

// crossSiteBrowser reports whether r is a browser's request from another
// site (Sec-Fetch-Site, else an Origin with another host).
func (s *Server) crossSiteBrowser(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	case "same-origin", "none":
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return true
	}
	if u.Host == r.Host {
		return false
	}
	if pub, err := url.Parse(s.cfg.Delivery.PublicURL); err == nil && pub.Host != "" && strings.EqualFold(pub.Host, u.Host) {
		return false
	}
	return true
}

// linkUse is POST /l/{token}: do what the link says.
func (s *Server) linkUse(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLinkFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeNotice(w, http.StatusRequestEntityTooLarge, pageLang("", r), linkWords[pageLang("", r)].invalid)
			return
		}
		writeNotice(w, http.StatusBadRequest, pageLang("", r), linkWords[pageLang("", r)].invalid)
		return
	}
	form := r.PostForm
	lc := s.linkOpen(w, r)
	if lc == nil {
		return
	}
	if s.crossSiteBrowser(r) && form.Get("token") != r.PathValue("token") &&
		!(lc.link.Action == links.Unsubscribe && oneClick(form)) {
		s.logger.Warn("email link refused: cross-site post without the token",
			slog.String("clinic_id", lc.link.ClinicID), slog.String("send_id", lc.link.SendID))
		writeNotice(w, http.StatusForbidden, lc.lang, lc.words.crossSite)
		return
	}
	var err error
	var used bool
	var res scheduler.ConfirmResult
	for range maxLinkConflictRetries {
		err = s.store.InTx(r.Context(), func(q beckon.Querier) error {
			var err error
			used, res, err = s.linkApply(r.Context(), q, lc)
			return err
		})
		if !errors.Is(err, beckon.ErrConflict) {
			break
		}
	}
	switch {
	case errors.Is(err, beckon.ErrNotFound), errors.Is(err, scheduler.ErrUnknownPatient):
		writeNotice(w, http.StatusGone, lc.lang, lc.words.gone)
		return
	case err != nil:
		s.linkFailed(w, r, lc.lang, "link apply", lc.link, err)
		return
	case used:
		writeNotice(w, http.StatusGone, lc.lang, lc.words.used)
		return
	}
	if len(res.Writebacks) > 0 && s.cfg.Tasks != nil {
		if err := scheduler.EnqueueWritebacks(r.Context(), s.cfg.Tasks, s.cfg.Queue, res.Writebacks); err != nil {
			// The write-back is recorded pending; it is visible and can be retried.
			s.logger.Error("write-back enqueue failed", slog.String("appointment_id", lc.link.AppointmentID), slog.String("error", err.Error()))
		}
	}
	s.logger.Info("email link used", slog.String("clinic_id", lc.link.ClinicID),
		slog.String("send_id", lc.link.SendID), slog.String("action", lc.link.Action))
	done := lc.words.done[lc.link.Action]
	writePage(w, http.StatusOK, lc.page(done[0], done[1]))
}

// linkApply records the link's use and its effect in q's transaction.
// used reports a confirm or cancel link used before (nothing is done); an
// unsubscribe link does its (idempotent) effect again.
func (s *Server) linkApply(ctx context.Context, q beckon.Querier, lc *linkCtx) (used bool, res scheduler.ConfirmResult, err error) {
	l := lc.link
	now := s.cfg.Clock.Now()
	first, err := q.LinkUseRecord(ctx, beckon.LinkUse{ID: l.ID(), ClinicID: l.ClinicID, Action: l.Action, UsedAt: now})
	if err != nil {
		return false, res, err
	}
	switch l.Action {
	case links.Unsubscribe:
		// Read in the transaction: the message id is recorded after the
		// send, and the patient's address may have changed.
		send, err := q.SendGet(ctx, l.ClinicID, l.SendID)
		if err != nil {
			return false, res, err
		}
		p, err := q.PatientGet(ctx, l.ClinicID, send.PatientID)
		if err != nil {
			return false, res, err
		}
		if p.Email == "" {
			return false, res, nil // nothing left to unsubscribe
		}
		_, err = q.ConsentRecord(ctx, beckon.ConsentChange{
			ID:        "cns_" + l.ID(),
			ClinicID:  l.ClinicID,
			PatientID: p.ID,
			Email:     p.Email,
			Channel:   beckon.ChannelEmail,
			State:     beckon.ConsentOptedOut,
			How:       beckon.ConsentUnsubscribe,
			MessageID: send.MessageID,
			By:        "patient",
			At:        now,
		})
		return false, res, err
	default:
		if !first {
			return true, res, nil
		}
		response := beckon.ResponseConfirmed
		if l.Action == links.Cancel {
			response = beckon.ResponseCancelRequested
		}
		res, err = s.svc.ConfirmIn(ctx, q, beckon.Confirmation{
			ClinicID:      l.ClinicID,
			AppointmentID: l.AppointmentID,
			Response:      response,
			By:            "patient",
			Method:        "email",
			Actor:         "email_link:" + l.SendID,
		})
		return false, res, err
	}
}
