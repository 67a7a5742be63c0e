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

	"github.com/beckonhealth/beckon/channels/sendgrid"
	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/worker"
)

// Webhook paths. Both are public: a request is trusted by its signature only.
const (
	TwilioStatusPath   = "/webhooks/twilio/status"
	SendGridEventsPath = "/webhooks/sendgrid/events"
	// ClinicParam is the query parameter of a webhook URL that names the
	// clinic whose credentials verify it (absent: the installation's).
	ClinicParam = "clinic_id"
)

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
	if wh.cfg.Queue == "" {
		wh.cfg.Queue = "sends"
	}
	if wh.cfg.MaxRetry == 0 {
		wh.cfg.MaxRetry = 10
	}
	s.mux.Handle("POST "+TwilioStatusPath, http.HandlerFunc(wh.twilioStatus))
	s.mux.Handle("POST "+SendGridEventsPath, http.HandlerFunc(wh.sendgridEvents))
}

type webhooks struct {
	s    *Server
	cfg  DeliveryConfig
	keys sync.Map // base64 key → *ecdsa.PublicKey
}

// webhookRefused is the one answer to a callback that does not verify,
// whatever the reason (no key, a stale timestamp, a wrong signature), so
// that it tells nothing of whether the clinic exists or has its own key.
const webhookRefused = "the signature does not verify, or the timestamp is outside the replay window"

func (wh *webhooks) fail(w http.ResponseWriter, status int, msg string) {
	writeError(w, newError(status, codeFor(status), msg))
}

// settings returns the clinic's channel settings named by the URL, if any.
func (wh *webhooks) settings(ctx context.Context, r *http.Request) (store.ChannelSettings, error) {
	id := r.URL.Query().Get(ClinicParam)
	if id == "" {
		return store.ChannelSettings{}, nil
	}
	cs, err := wh.s.store.ChannelSettingsGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.ChannelSettings{}, nil
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

// twilioStatus receives Twilio's message status callback.
func (wh *webhooks) twilioStatus(w http.ResponseWriter, r *http.Request) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	sig := r.Header.Get(twilio.SignatureHeader)
	if sig == "" {
		wh.fail(w, http.StatusForbidden, "missing "+twilio.SignatureHeader)
		return
	}
	cs, err := wh.settings(r.Context(), r)
	if err != nil {
		wh.s.logger.Error("webhook settings lookup failed", slog.String("error", err.Error()))
		wh.fail(w, http.StatusServiceUnavailable, "cannot verify the callback now")
		return
	}
	token := cs.TwilioAuthToken
	if token == "" {
		token = wh.cfg.TwilioAuthToken
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
	p := worker.StatusPayload{
		Provider:   worker.ProviderTwilio,
		ProviderID: form.Get("MessageSid"),
		SendID:     r.URL.Query().Get(twilio.SendIDParam),
		Event:      strings.ToLower(form.Get("MessageStatus")),
		ErrorCode:  form.Get("ErrorCode"),
		At:         wh.s.cfg.Clock.Now(),
	}
	if p.ProviderID == "" || p.Event == "" {
		writeError(w, invalid("MessageStatus", "MessageSid and MessageStatus are required"))
		return
	}
	p.Key = p.ProviderID + ":" + p.Event
	if err := wh.enqueue(r.Context(), p); err != nil {
		wh.fail(w, http.StatusServiceUnavailable, "cannot queue the status now; retry")
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
	SendID      string          `json:"send_id"`
	Type        string          `json:"type"` // bounce: "bounce" or "blocked"
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
	cs, err := wh.settings(r.Context(), r)
	if err != nil {
		wh.s.logger.Error("webhook settings lookup failed", slog.String("error", err.Error()))
		wh.fail(w, http.StatusServiceUnavailable, "cannot verify the events now")
		return
	}
	b64 := cs.SendGridWebhookKey
	if b64 == "" {
		b64 = wh.cfg.SendGridWebhookKey
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
	for _, e := range events {
		if e.Event == "" {
			continue
		}
		p := worker.StatusPayload{
			Provider:   worker.ProviderSendGrid,
			Key:        e.SGEventID,
			ProviderID: strings.SplitN(e.SGMessageID, ".", 2)[0],
			SendID:     e.SendID,
			Event:      e.Event,
			At:         time.Unix(e.Timestamp, 0).UTC(),
		}
		if p.Key == "" {
			sum := sha256.Sum256([]byte(e.SGMessageID + "\x00" + e.Event + "\x00" + strconv.FormatInt(e.Timestamp, 10)))
			p.Key = hex.EncodeToString(sum[:16])
		}
		if e.Timestamp == 0 {
			p.At = wh.s.cfg.Clock.Now()
		}
		if err := wh.enqueue(r.Context(), p); err != nil {
			// SendGrid retries the whole batch; what was queued is deduplicated.
			wh.fail(w, http.StatusServiceUnavailable, "cannot queue the events now; retry")
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
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

// enqueue hands a verified status to the workers; a duplicate still queued is
// a success (the store deduplicates the rest).
func (wh *webhooks) enqueue(ctx context.Context, p worker.StatusPayload) error {
	if wh.s.cfg.Tasks == nil {
		return errors.New("no task queue")
	}
	task, err := worker.NewStatusTask(p)
	if err != nil {
		return err
	}
	_, err = wh.s.cfg.Tasks.EnqueueContext(ctx, task,
		asynq.TaskID(worker.StatusTaskID(p)),
		asynq.Queue(wh.cfg.Queue),
		asynq.MaxRetry(wh.cfg.MaxRetry),
		asynq.Retention(time.Hour),
	)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		wh.s.logger.Error("enqueue status failed", slog.String("provider", p.Provider), slog.String("error", err.Error()))
	}
	return err
}
