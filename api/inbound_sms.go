package api

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/tasks"
)

// TwilioSMSPath is Twilio's incoming-message webhook (a Messaging Service's
// or a number's "A message comes in"). It is public: a request is trusted
// by its signature only.
//
// Clinic: clinic_id in the URL when present; otherwise the clinic whose
// Twilio number is To, or whose messaging service is MessagingServiceSid;
// a message to the installation's own sender goes to the one clinic that
// sends through the installation's account, if there is exactly one. The
// resolved clinic's auth token verifies the request (the installation's
// when it has none, or when no clinic was resolved). A verified message is
// kept even when no clinic or no patient is found.
const TwilioSMSPath = "/webhooks/twilio/sms"

// emptyTwiML answers Twilio at once: Beckon answers, if at all, with sends
// of its own.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// Bounds on what an inbound message's fields may hold when stored.
const (
	maxInboundBody    = 8 << 10 // bytes of Body kept (Twilio sends at most 1,600 characters)
	maxInboundAddress = 64      // bytes of From and To
)

// messageSidPattern is Twilio's message id (SM…, MM…) or the outbox's.
var messageSidPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// twilioSMS receives a patient's message.
func (wh *webhooks) twilioSMS(w http.ResponseWriter, r *http.Request) {
	raw, sig, ok := wh.twilioBody(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		wh.fail(w, http.StatusForbidden, webhookRefused)
		return
	}
	ctx := r.Context()
	clinicID := r.URL.Query().Get(ClinicParam)
	if clinicID == "" {
		to, service := form.Get("To"), form.Get("MessagingServiceSid")
		clinicID, err = wh.senders.get([2]string{to, service}, func() (string, error) { return wh.clinicOfSender(ctx, to, service) })
		if err != nil {
			wh.s.logger.Error("inbound sms clinic lookup failed", slog.String("error", err.Error()))
			wh.fail(w, http.StatusServiceUnavailable, "cannot take the message now; retry")
			return
		}
	}
	cs, err := wh.senderSettings.get(clinicID, func() (beckon.ChannelSettings, error) { return wh.settings(ctx, clinicID) })
	if err != nil {
		wh.s.logger.Error("webhook settings lookup failed", slog.String("error", err.Error()))
		wh.fail(w, http.StatusServiceUnavailable, "cannot verify the message now")
		return
	}
	token := cmp.Or(cs.TwilioAuthToken, wh.cfg.TwilioAuthToken)
	if token == "" || !twilio.ValidateBody(token, wh.calledURL(r), raw, sig) {
		wh.s.logger.Warn("twilio inbound message with a bad signature", slog.String("path", r.URL.Path))
		wh.fail(w, http.StatusForbidden, webhookRefused)
		return
	}
	if clinicID != "" {
		// A clinic named in the URL that does not exist: the message is
		// kept as no clinic's.
		switch _, err := wh.clinics.get(clinicID, func() (bool, error) { _, err := wh.s.store.ClinicGet(ctx, clinicID); return true, err }); {
		case errors.Is(err, beckon.ErrNotFound):
			clinicID = ""
		case err != nil:
			wh.s.logger.Error("inbound sms clinic lookup failed", slog.String("error", err.Error()))
			wh.fail(w, http.StatusServiceUnavailable, "cannot take the message now; retry")
			return
		}
	}
	sid := form.Get("MessageSid")
	if !messageSidPattern.MatchString(sid) {
		writeError(w, invalid("MessageSid", "MessageSid is required: letters and digits, at most 64"))
		return
	}
	m := beckon.InboundSMS{
		ClinicID:    clinicID,
		Channel:     beckon.ChannelSMS,
		Provider:    tasks.ProviderTwilio,
		ProviderID:  sid,
		From:        clean(form.Get("From"), maxInboundAddress),
		To:          clean(form.Get("To"), maxInboundAddress),
		Body:        clean(form.Get("Body"), maxInboundBody),
		OptOutType:  optOutType(form.Get("OptOutType")),
		NumSegments: smallCount(form.Get("NumSegments")),
		NumMedia:    smallCount(form.Get("NumMedia")),
	}
	if _, err := wh.s.receiveSMS(ctx, m); err != nil {
		wh.fail(w, http.StatusServiceUnavailable, "cannot take the message now; retry")
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(emptyTwiML))
}

// clinicOfSender is the clinic whose Twilio sender the message was sent to
// ("" when none, or more than one, is).
func (wh *webhooks) clinicOfSender(ctx context.Context, to, service string) (string, error) {
	ids, err := wh.s.store.ClinicBySender(ctx, to, service)
	if err != nil || len(ids) > 1 {
		return "", err
	}
	if len(ids) == 1 {
		return ids[0], nil
	}
	own := (to != "" && to == wh.cfg.TwilioFrom) || (service != "" && service == wh.cfg.TwilioMessagingServiceSID)
	if !own {
		return "", nil
	}
	ids, err = wh.s.store.ClinicListWithoutTwilioAccount(ctx)
	if err != nil || len(ids) != 1 {
		return "", err
	}
	return ids[0], nil
}

// receiveSMS stores an inbound message (once per provider message id) with
// its patient when exactly one patient of its clinic has the number, and
// hands it to the interpreter; the one path of the Twilio webhook and the
// outbox's replies. The message is stored before anything is queued: with
// Redis down it is still taken, and the pump queues it later. Concurrent
// messages are stored together (inboundWriter).
func (s *Server) receiveSMS(ctx context.Context, m beckon.InboundSMS) (beckon.InboundSMS, error) {
	m.ReceivedAt = s.cfg.Clock.Now()
	put, err := s.inbound.write(ctx, m)
	if err != nil {
		s.logger.Error("inbound sms not stored", slog.String("provider", m.Provider), slog.String("error", err.Error()))
		return m, err
	}
	stored, created := put.Stored, put.Created
	log := s.logger.With(slog.String("clinic_id", stored.ClinicID), slog.String("message_id", stored.ID))
	if created {
		log.Info("inbound sms received", slog.String("patient_id", stored.PatientID),
			slog.Int("body_size", len(stored.Body)), slog.Int("segments", stored.NumSegments),
			slog.Int("media", stored.NumMedia), slog.String("opt_out_type", stored.OptOutType))
	}
	if !stored.InterpretedAt.IsZero() {
		return stored, nil
	}
	if err := s.enqueueInterpret(ctx, stored); err != nil {
		log.Warn("inbound sms stored but not queued; the pump queues it", slog.String("error", err.Error()))
	}
	return stored, nil
}

// enqueueInterpret hands a stored message to the interpreter, waiting at
// most fastPathTimeout for Redis; a task asynq holds already is a success.
func (s *Server) enqueueInterpret(ctx context.Context, m beckon.InboundSMS) error {
	if s.cfg.Tasks == nil {
		return errors.New("no task queue")
	}
	task, opts, err := tasks.NewInterpretTask(m.ClinicID, m.ID, m.From)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, fastPathTimeout)
	defer cancel()
	_, err = s.cfg.Tasks.EnqueueContext(ctx, task, append(opts, asynq.Queue(s.workQueue()))...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// workQueue is the workers' queue, where the webhooks' tasks go.
func (s *Server) workQueue() string {
	return cmp.Or(s.cfg.Delivery.Queue, s.cfg.Queue, tasks.DefaultQueue)
}

// clean makes a field from a provider storable: valid UTF-8 without NUL,
// at most max bytes (cut at a character's boundary).
func clean(s string, max int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// optOutType keeps Twilio's Advanced Opt-Out keyword type (STOP, START,
// HELP), upper-cased; anything else is dropped.
func optOutType(s string) string {
	switch t := strings.ToUpper(strings.TrimSpace(s)); t {
	case "STOP", "START", "HELP":
		return t
	}
	return ""
}

// smallCount is a count field (NumSegments, NumMedia), 0 when absent or
// not a small number.
func smallCount(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1000 {
		return 0
	}
	return n
}

// outboxSID is a message id for a reply entered through the outbox.
func outboxSID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "SMoutbox" + hex.EncodeToString(b[:])
}
