package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels/sendgrid"
	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/tasks"
)

// Webhook paths. Both are public: a request is trusted by its signature only.
//
// Clinic scope. Every effect of a callback is limited to one clinic, end to
// end (the queued status carries it; the worker reads and writes only that
// clinic's records):
//
//   - clinic_id in the URL names the clinic. The clinic's own secret (Twilio
//     auth token, SendGrid webhook key) verifies the callback; a clinic
//     without one is verified with the installation's secret.
//   - Without clinic_id, only the installation's secret verifies. A Twilio
//     callback must name its clinic (Beckon puts clinic_id in every
//     StatusCallback URL): one without is refused. A SendGrid event is
//     scoped to the clinic its custom argument clinic_id names (Beckon sets it
//     on every mail); an event without one is ignored.
//   - A SendGrid event whose clinic_id differs from the URL's is ignored.
//   - A callback verified with the installation's secret touches only a
//     clinic without an account of its own with that provider (checked by
//     the worker when it applies the status): the installation's account
//     sent only those clinics' messages.
//
// A send or message id the scoped clinic does not have changes nothing.
const (
	TwilioStatusPath   = "/webhooks/twilio/status"
	SendGridEventsPath = "/webhooks/sendgrid/events"
	// ClinicParam is the query parameter of a webhook URL that names the
	// clinic the callback is for (and whose credentials verify it).
	ClinicParam = "clinic_id"
)

// maxLoggedID bounds an id taken from a webhook body before it is logged.
const maxLoggedID = 64

// maxWebhookBytes bounds a webhook body (SendGrid batches up to ~1,000 events).
const maxWebhookBytes = 2 << 20

// DeliveryConfig is what the provider webhooks need.
type DeliveryConfig struct {
	// PublicURL is Beckon's public base URL (BECKON_PUBLIC_URL), e.g.
	// https://beckon.example.org. Twilio signs the URL as it called it, so a
	// callback is checked against PublicURL + the path and query received.
	// Empty: the URL is rebuilt from the request (Host, TLS), which is wrong
	// behind a proxy.
	PublicURL string
	// Queue is the asynq queue status tasks go to (the workers'). Default "sends".
	Queue string
	// MaxRetry of a status task (it waits for the message to be recorded). Default 10.
	MaxRetry int
	// TwilioAuthToken verifies Twilio callbacks of clinics without their own
	// account (the installation's BECKON_TWILIO_AUTH_TOKEN).
	TwilioAuthToken string
	// TwilioAccountSID, TwilioFrom and TwilioMessagingServiceSID are the
	// installation's Twilio account and sender: an inbound message to that
	// sender belongs to the one clinic sending through the installation's
	// account, and a clinic's SMS channel is the outbox only when neither it
	// nor the installation has an account.
	TwilioAccountSID          string
	TwilioFrom                string
	TwilioMessagingServiceSID string
	// ChannelMode is BECKON_CHANNEL (auto, outbox, providers). Default auto.
	ChannelMode string
	// SendGridWebhookKey is the base64 public key of SendGrid's signed event
	// webhook for clinics without their own.
	SendGridWebhookKey string
	// EventWindow is how old (or how far ahead) a SendGrid event batch's
	// timestamp may be. Default 10m.
	EventWindow time.Duration
}

// registerWebhooks registers the provider callbacks (Twilio status, SendGrid
// events) and the clinic's channel settings. The callbacks are plain handlers
// on the mux: the signatures are over the exact raw body.
func (s *Server) registerWebhooks() {
	s.registerChannelSettings()
	wh := &webhooks{s: s, cfg: s.cfg.Delivery}
	wh.inbox.put = s.store.StatusInboxPut
	if wh.cfg.Queue == "" {
		wh.cfg.Queue = "sends"
	}
	if wh.cfg.MaxRetry == 0 {
		wh.cfg.MaxRetry = 10
	}
	s.handle("POST "+TwilioStatusPath, http.HandlerFunc(wh.twilioStatus))
	s.handle("POST "+SendGridEventsPath, http.HandlerFunc(wh.sendgridEvents))
	s.handle("POST "+TwilioSMSPath, http.HandlerFunc(wh.twilioSMS))
}

type webhooks struct {
	s     *Server
	cfg   DeliveryConfig
	keys  sync.Map // base64 key → *ecdsa.PublicKey
	inbox inboxWriter
	// The inbound messages' lookups (inbound_lookups.go): the clinic of a
	// sender (To, MessagingServiceSid), a clinic's settings, a clinic that
	// exists.
	senders        lookupCache[[2]string, string]
	senderSettings lookupCache[string, beckon.ChannelSettings]
	clinics        lookupCache[string, bool]
}

// webhookRefused is the one answer to a callback that does not verify,
// whatever the reason (no key, a stale timestamp, a wrong signature), so
// that it tells nothing of whether the clinic exists or has its own key.
const webhookRefused = "the signature does not verify, or the timestamp is outside the replay window"

func (wh *webhooks) fail(w http.ResponseWriter, status int, msg string) {
	writeError(w, newError(status, codeFor(status), msg))
}

// settings returns the channel settings of the clinic the URL names (empty
// settings when it names none, or a clinic without settings).
func (wh *webhooks) settings(ctx context.Context, clinicID string) (beckon.ChannelSettings, error) {
	if clinicID == "" {
		return beckon.ChannelSettings{}, nil
	}
	cs, err := wh.s.store.ChannelSettingsGet(ctx, clinicID)
	if errors.Is(err, beckon.ErrNotFound) {
		return beckon.ChannelSettings{}, nil
	}
	return cs, err
}

// calledURL is the URL as the provider called it.
func (wh *webhooks) calledURL(r *http.Request) string {
	if wh.cfg.PublicURL != "" {
		return strings.TrimRight(wh.cfg.PublicURL, "/") + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, newError(http.StatusRequestEntityTooLarge, CodeTooLarge, "body too large"))
		} else {
			writeError(w, newError(http.StatusBadRequest, CodeBadRequest, "cannot read the body"))
		}
		return nil, false
	}
	return raw, true
}

// twilioBody reads a Twilio callback's body and its signature; ok is false
// when it answered the request (a body too large, no signature: 403).
func (wh *webhooks) twilioBody(w http.ResponseWriter, r *http.Request) (raw []byte, sig string, ok bool) {
	if raw, ok = readBody(w, r); !ok {
		return nil, "", false
	}
	sig = r.Header.Get(twilio.SignatureHeader)
	if sig == "" {
		wh.fail(w, http.StatusForbidden, "missing "+twilio.SignatureHeader)
		return nil, "", false
	}
	return raw, sig, true
}

// twilioStatus receives Twilio's message status callback.
func (wh *webhooks) twilioStatus(w http.ResponseWriter, r *http.Request) {
	raw, sig, ok := wh.twilioBody(w, r)
	if !ok {
		return
	}
	clinicID := r.URL.Query().Get(ClinicParam)
	if clinicID == "" {
		writeError(w, newError(http.StatusBadRequest, CodeBadRequest, "the callback URL must name its clinic ("+ClinicParam+")"))
		return
	}
	cs, err := wh.settings(r.Context(), clinicID)
	if err != nil {
		wh.s.logger.Error("webhook settings lookup failed", slog.String("error", err.Error()))
		wh.fail(w, http.StatusServiceUnavailable, "cannot verify the callback now")
		return
	}
	token, viaInstallation := cs.TwilioAuthToken, false
	if token == "" {
		token, viaInstallation = wh.cfg.TwilioAuthToken, true
	}
	if token == "" || !twilio.ValidateBody(token, wh.calledURL(r), raw, sig) {
		wh.s.logger.Warn("twilio callback with a bad signature", slog.String("path", r.URL.Path))
		wh.fail(w, http.StatusForbidden, webhookRefused)
		return
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		wh.fail(w, http.StatusBadRequest, "body is not form-encoded")
		return
	}
	p := tasks.StatusPayload{
		Provider:        tasks.ProviderTwilio,
		ClinicID:        clinicID,
		ViaInstallation: viaInstallation,
		ProviderID:      form.Get("MessageSid"),
		SendID:          r.URL.Query().Get(twilio.SendIDParam),
		Event:           strings.ToLower(form.Get("MessageStatus")),
		ErrorCode:       form.Get("ErrorCode"),
		At:              wh.s.cfg.Clock.Now(),
	}
	if p.ProviderID == "" || p.Event == "" {
		writeError(w, invalid("MessageStatus", "MessageSid and MessageStatus are required"))
		return
	}
	p.Key = p.ProviderID + ":" + p.Event
	if err := wh.accept(r.Context(), []tasks.StatusPayload{p}); err != nil {
		wh.fail(w, http.StatusServiceUnavailable, "cannot take the status now; retry")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// sgEvent is the part of a SendGrid event Beckon reads (no address).
type sgEvent struct {
	Event       string          `json:"event"`
	Timestamp   int64           `json:"timestamp"`
	SGEventID   string          `json:"sg_event_id"`
	SGMessageID string          `json:"sg_message_id"`
	SendID      string          `json:"send_id"`   // custom argument
	ClinicID    string          `json:"clinic_id"` // custom argument
	Type        string          `json:"type"`      // bounce: "bounce" or "blocked"
	Status      json.RawMessage `json:"status"`
}

// sendgridEvents receives SendGrid's signed event webhook.
func (wh *webhooks) sendgridEvents(w http.ResponseWriter, r *http.Request) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	sig, ts := r.Header.Get(sendgrid.SignatureHeader), r.Header.Get(sendgrid.TimestampHeader)
	if sig == "" || ts == "" {
		wh.fail(w, http.StatusForbidden, "missing "+sendgrid.SignatureHeader+" or "+sendgrid.TimestampHeader)
		return
	}
	urlClinic := r.URL.Query().Get(ClinicParam)
	cs, err := wh.settings(r.Context(), urlClinic)
	if err != nil {
		wh.s.logger.Error("webhook settings lookup failed", slog.String("error", err.Error()))
		wh.fail(w, http.StatusServiceUnavailable, "cannot verify the events now")
		return
	}
	b64, viaInstallation := cs.SendGridWebhookKey, false
	if b64 == "" {
		b64, viaInstallation = wh.cfg.SendGridWebhookKey, true
	}
	pub, err := wh.publicKey(b64)
	if err != nil {
		wh.fail(w, http.StatusForbidden, webhookRefused)
		return
	}
	switch err := sendgrid.VerifyEvents(pub, sig, ts, raw, wh.s.cfg.Clock.Now(), wh.cfg.EventWindow); {
	case errors.Is(err, sendgrid.ErrStale):
		wh.fail(w, http.StatusForbidden, webhookRefused)
		return
	case err != nil:
		wh.s.logger.Warn("sendgrid events with a bad signature", slog.String("path", r.URL.Path))
		wh.fail(w, http.StatusForbidden, webhookRefused)
		return
	}
	var events []sgEvent
	if err := json.Unmarshal(raw, &events); err != nil {
		wh.fail(w, http.StatusBadRequest, "body is not a JSON array of events")
		return
	}
	ignored := 0
	statuses := make([]tasks.StatusPayload, 0, len(events))
	for _, e := range events {
		if e.Event == "" {
			continue
		}
		clinicID, ok := eventClinic(urlClinic, e.ClinicID)
		if !ok {
			ignored++
			wh.s.logger.Warn("sendgrid event outside the webhook's clinic ignored",
				slog.String("url_clinic_id", urlClinic), slog.String("event_clinic_id", truncate(e.ClinicID, maxLoggedID)),
				slog.String("sg_event_id", truncate(e.SGEventID, maxLoggedID)), slog.String("send_id", truncate(e.SendID, maxLoggedID)))
			continue
		}
		p := tasks.StatusPayload{
			Provider:        tasks.ProviderSendGrid,
			ClinicID:        clinicID,
			ViaInstallation: viaInstallation,
			Key:             e.SGEventID,
			ProviderID:      strings.SplitN(e.SGMessageID, ".", 2)[0],
			SendID:          e.SendID,
			Event:           e.Event,
			At:              time.Unix(e.Timestamp, 0).UTC(),
		}
		if p.Key == "" {
			sum := sha256.Sum256([]byte(e.SGMessageID + "\x00" + e.Event + "\x00" + strconv.FormatInt(e.Timestamp, 10)))
			p.Key = hex.EncodeToString(sum[:16])
		}
		if e.Timestamp == 0 {
			p.At = wh.s.cfg.Clock.Now()
		}
		statuses = append(statuses, p)
	}
	if err := wh.accept(r.Context(), statuses); err != nil {
		// SendGrid retries the whole batch; what was taken is deduplicated.
		wh.fail(w, http.StatusServiceUnavailable, "cannot take the events now; retry")
		return
	}
	if ignored > 0 {
		wh.s.logger.Info("sendgrid events received", slog.Int("events", len(events)), slog.Int("ignored", ignored))
	}
	w.WriteHeader(http.StatusNoContent)
}

// eventClinic is the clinic a SendGrid event is scoped to: the URL's, which
// the event's own clinic_id (a custom argument) must not contradict; without
// one in the URL, the event's. ok is false when the event is to be ignored.
func eventClinic(urlClinic, eventClinic string) (string, bool) {
	switch {
	case urlClinic == "":
		return eventClinic, eventClinic != ""
	case eventClinic != "" && eventClinic != urlClinic:
		return "", false
	}
	return urlClinic, true
}

func (wh *webhooks) publicKey(b64 string) (*ecdsa.PublicKey, error) {
	if b64 == "" {
		return nil, errors.New("no key")
	}
	if k, ok := wh.keys.Load(b64); ok {
		return k.(*ecdsa.PublicKey), nil
	}
	k, err := sendgrid.ParsePublicKey(b64)
	if err != nil {
		return nil, err
	}
	wh.keys.Store(b64, k)
	return k, nil
}

// fastPathTimeout bounds each enqueue of a status the store has taken (a
// healthy Redis takes a millisecond): with Redis unreachable, callbacks are
// still answered quickly, and the pump hands the statuses over later.
const fastPathTimeout = 500 * time.Millisecond

// accept takes verified statuses (one request's): it stores them in the
// status inbox, in one transaction, and then hands them to the workers. It
// fails only when neither the store nor asynq took them: stored but not
// queued, they are handed over by the pump once Redis answers again; queued
// but not stored, asynq alone holds them.
func (wh *webhooks) accept(ctx context.Context, ps []tasks.StatusPayload) error {
	if len(ps) == 0 {
		return nil
	}
	ts := make([]*asynq.Task, len(ps))
	entries := make([]beckon.StatusInboxEntry, len(ps))
	now := wh.s.cfg.Clock.Now()
	for i, p := range ps {
		task, err := tasks.NewStatusTask(p)
		if err != nil {
			return err
		}
		ts[i] = task
		entries[i] = beckon.StatusInboxEntry{
			ClinicID: p.ClinicID, Provider: p.Provider, Key: p.Key, Payload: task.Payload(), ReceivedAt: now,
		}
	}
	log := wh.s.logger.With(slog.String("provider", ps[0].Provider), slog.Int("statuses", len(ps)))
	storeErr := wh.inbox.write(ctx, entries)
	if storeErr != nil {
		log.Error("status inbox write failed", slog.String("error", storeErr.Error()))
	}
	for i, p := range ps {
		err := wh.enqueue(ctx, p, ts[i], storeErr == nil)
		switch {
		case err == nil:
		case storeErr == nil:
			log.Warn("statuses stored but not queued; the pump queues them", slog.String("error", err.Error()))
			return nil
		default:
			log.Error("statuses neither stored nor queued", slog.String("error", err.Error()))
			return err
		}
	}
	return nil
}

// enqueue hands a verified status to the workers; a duplicate still queued is
// a success (the store deduplicates the rest). A stored status waits at most
// fastPathTimeout for Redis.
func (wh *webhooks) enqueue(ctx context.Context, p tasks.StatusPayload, task *asynq.Task, stored bool) error {
	if wh.s.cfg.Tasks == nil {
		return errors.New("no task queue")
	}
	if stored {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fastPathTimeout)
		defer cancel()
	}
	_, err := wh.s.cfg.Tasks.EnqueueContext(ctx, task,
		asynq.TaskID(p.TaskID()),
		asynq.Queue(wh.cfg.Queue),
		asynq.MaxRetry(wh.cfg.MaxRetry),
		asynq.Retention(tasks.StatusTaskRetention),
	)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}
