package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// ErrMessageNotYetRecorded means the status arrived before the worker that
// sent the message recorded it; the task is retried.
var ErrMessageNotYetRecorded = errors.New("status for a message not recorded (yet)")

// StatusApplier is the asynq handler for tasks.TypeStatus tasks.
type StatusApplier struct {
	store  beckon.Store
	clock  beckon.Clock
	logger *slog.Logger
}

// NewStatusApplier returns the status handler.
func NewStatusApplier(st beckon.Store, clock beckon.Clock, logger *slog.Logger) *StatusApplier {
	if logger == nil {
		logger = slog.Default()
	}
	return &StatusApplier{store: st, clock: clock, logger: logger.With(slog.String("component", "status"))}
}

// ProcessTask implements asynq.Handler.
func (s *StatusApplier) ProcessTask(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseStatusPayload(t.Payload())
	if err != nil {
		// A status without a clinic (queued before statuses carried one)
		// cannot be scoped: it is dropped, never applied to any clinic.
		return fmt.Errorf("bad status payload (provider, key and clinic are required): %w", asynq.SkipRetry)
	}
	return s.Apply(ctx, p)
}

// effect is what a provider event means for the message and the patient.
type effect struct {
	status        string // the event's status in the message history (a message status moves forward)
	undeliverable bool   // the address is bad: later sends to it are skipped
	optOutEmail   string // how the patient asked for no more email (beckon.ConsentUnsubscribe, …); empty: they did not
	fallback      bool   // try the other channel, if the step says so
}

// twilioEffect maps a Twilio message status (and error code).
func twilioEffect(status, code string) effect {
	switch status {
	case "accepted", "scheduled", "queued":
		return effect{status: beckon.MessageQueued}
	case "sending", "sent":
		return effect{status: beckon.MessageSent}
	case "delivered", "read":
		return effect{status: beckon.MessageDelivered}
	case "undelivered":
		return effect{status: beckon.MessageUndelivered, fallback: true, undeliverable: code == "30005" || code == "30006"}
	case "failed", "canceled":
		return effect{status: beckon.MessageFailed, fallback: true}
	}
	return effect{status: status}
}

// sendgridEffect maps a SendGrid event.
func sendgridEffect(event string) effect {
	switch event {
	case "processed":
		return effect{status: beckon.MessageSent}
	case "delivered":
		return effect{status: beckon.MessageDelivered}
	case "bounce":
		return effect{status: beckon.MessageUndelivered, undeliverable: true, fallback: true}
	case "dropped":
		return effect{status: beckon.MessageFailed, undeliverable: true, fallback: true}
	case "unsubscribe", "group_unsubscribe":
		return effect{status: event, optOutEmail: beckon.ConsentUnsubscribe}
	case "spamreport":
		return effect{status: event, optOutEmail: beckon.ConsentSpamReport}
	}
	return effect{status: event} // deferred, open, click: history only
}

// effectOf maps a status by its provider.
func effectOf(p tasks.StatusPayload) effect {
	if p.Provider == tasks.ProviderTwilio {
		return twilioEffect(p.Event, p.ErrorCode)
	}
	return sendgridEffect(p.Event)
}

// sighted keeps the word of a status that names a send whose message is not
// recorded: the provider has the message. A send in flight or abandoned
// (claimed) is then settled from it, never sent again nor skipped; a send
// ended unknown is reopened to be settled from it.
func (s *StatusApplier) sighted(ctx context.Context, p tasks.StatusPayload, eff effect, log *slog.Logger) error {
	if p.SendID == "" || p.ProviderID == "" {
		return nil
	}
	sd, err := s.store.SendGet(ctx, p.ClinicID, p.SendID)
	if err != nil {
		return nil // findMessage just read it: nothing to add
	}
	if sd.Status != beckon.SendClaimed && sd.Status != beckon.SendUnknown {
		return nil
	}
	now := s.clock.Now()
	err = s.store.SendSightingRecord(ctx, beckon.SendSighting{
		SendID: sd.ID, ClinicID: sd.ClinicID, Provider: p.Provider, ProviderID: p.ProviderID,
		Status: eff.status, At: now,
	})
	if err != nil {
		return fmt.Errorf("record sighting: %w", err)
	}
	if sd.Status == beckon.SendUnknown {
		reopened, err := s.store.SendReopen(ctx, sd.ClinicID, sd.ID, now)
		if err != nil {
			return fmt.Errorf("reopen send: %w", err)
		}
		if reopened {
			log.Info("the provider reported a send ended unknown; reopened to record it")
		}
	}
	return nil
}

// errNotThisClinics means the status names a send the clinic does not have.
var errNotThisClinics = errors.New("the status names a send that is not this clinic's")

// Apply records one status: once per idempotency key, never moving the
// message's status backwards, every event kept in its history. Every read and
// write is of p.ClinicID: a status naming another clinic's send or message is
// ignored (logged by id) and changes nothing. The status's inbox entry is
// marked done in the transaction that applies it (or when it is ignored or a
// duplicate); a status whose message is not recorded yet stays pending.
func (s *StatusApplier) Apply(ctx context.Context, p tasks.StatusPayload) error {
	log := s.logger.With(slog.String("provider", p.Provider), slog.String("event", p.Event),
		slog.String("clinic_id", p.ClinicID), slog.String("send_id", p.SendID), slog.String("provider_id", p.ProviderID))
	if p.ClinicID == "" {
		log.Warn("status without a clinic ignored")
		return nil
	}
	if p.ViaInstallation {
		own, err := s.ownAccount(ctx, p)
		if err != nil {
			return err
		}
		if own {
			log.Warn("status verified with the installation's secret names a clinic with its own provider account: ignored")
			return s.inboxDone(ctx, p)
		}
	}
	msg, err := s.findMessage(ctx, p)
	if errors.Is(err, errNotThisClinics) {
		log.Warn("status ignored: " + err.Error())
		return s.inboxDone(ctx, p)
	}
	eff := effectOf(p)
	if errors.Is(err, beckon.ErrNotFound) {
		log.Debug("status for an unknown message")
		if err := s.sighted(ctx, p, eff, log); err != nil {
			return err
		}
		return ErrMessageNotYetRecorded
	}
	if err != nil {
		return err
	}
	detail := p.Provider + " " + p.Event
	if p.ErrorCode != "" {
		detail += " (error " + p.ErrorCode + ")"
	}
	now := s.clock.Now()
	at := p.At
	if at.IsZero() {
		at = now
	}
	var moved, duplicate bool
	var fb beckon.Send
	var hasFallback bool
	err = s.store.InTx(ctx, func(q beckon.Querier) error {
		// The inbox entry is done with the status applied (or found a duplicate).
		if err := q.StatusInboxDone(ctx, p.ClinicID, p.Provider, p.Key, now); err != nil {
			return err
		}
		first, err := q.ProviderEventRecord(ctx, p.ClinicID, p.Provider, p.Key, now)
		if err != nil || !first {
			duplicate = !first
			return err
		}
		moved, err = q.MessageStatusApply(ctx, msg.ClinicID, beckon.MessageEvent{
			MessageID: msg.ID, Status: eff.status, Detail: detail, At: at,
		})
		if err != nil {
			return err
		}
		if eff.undeliverable && msg.To != "" {
			if err := q.AddressMarkUndeliverable(ctx, beckon.UndeliverableAddress{
				ClinicID: msg.ClinicID, Channel: msg.Channel, Address: msg.To, Reason: detail, At: at,
			}); err != nil {
				return err
			}
		}
		if eff.optOutEmail != "" && msg.To != "" {
			// The ledger entry's id is the event's: a redelivered event is
			// recorded once.
			if _, err := q.ConsentRecord(ctx, beckon.ConsentChange{
				ID: "cns_" + p.Provider + ":" + p.Key, ClinicID: msg.ClinicID, PatientID: msg.PatientID,
				Email: msg.To, Channel: beckon.ChannelEmail, State: beckon.ConsentOptedOut,
				How: eff.optOutEmail, MessageID: msg.ID, At: at,
			}); err != nil {
				return err
			}
		}
		if eff.fallback && moved && msg.SendID != "" {
			fb, hasFallback, err = fallbackFor(ctx, q, msg, now)
			if err != nil || !hasFallback {
				return err
			}
			return q.SendInsert(ctx, []beckon.Send{fb})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply status: %w", err)
	}
	log.Info("status applied", slog.String("message_id", msg.ID),
		slog.Bool("duplicate", duplicate), slog.Bool("moved", moved), slog.Bool("fallback", hasFallback))
	return nil
}

// inboxDone marks the status's inbox entry done when the status is ignored.
func (s *StatusApplier) inboxDone(ctx context.Context, p tasks.StatusPayload) error {
	if err := s.store.StatusInboxDone(ctx, p.ClinicID, p.Provider, p.Key, s.clock.Now()); err != nil {
		return fmt.Errorf("status inbox: %w", err)
	}
	return nil
}

// ownAccount reports whether the clinic has an account of its own with the
// status's provider (then only its own secret can speak for it).
func (s *StatusApplier) ownAccount(ctx context.Context, p tasks.StatusPayload) (bool, error) {
	cs, err := s.store.ChannelSettingsGet(ctx, p.ClinicID)
	if errors.Is(err, beckon.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("channel settings: %w", err)
	}
	switch p.Provider {
	case tasks.ProviderTwilio:
		return cs.OwnTwilio(), nil
	case tasks.ProviderSendGrid:
		return cs.OwnSendGrid(), nil
	}
	return true, nil // an unknown provider: nothing may speak for it
}

// findMessage finds the clinic's message a status is about: by the
// provider's id, else by the send id it carries. A send id the clinic does
// not have is errNotThisClinics (sends exist before their messages, so it
// will never be found); a message not found otherwise is beckon.ErrNotFound
// (it may not be recorded yet).
func (s *StatusApplier) findMessage(ctx context.Context, p tasks.StatusPayload) (beckon.Message, error) {
	if p.ProviderID != "" {
		m, err := s.store.MessageGetByProvider(ctx, p.ClinicID, p.Provider, p.ProviderID)
		if !errors.Is(err, beckon.ErrNotFound) {
			return m, err
		}
	}
	if p.SendID == "" {
		return beckon.Message{}, beckon.ErrNotFound
	}
	sd, err := s.store.SendGet(ctx, p.ClinicID, p.SendID)
	if errors.Is(err, beckon.ErrNotFound) {
		return beckon.Message{}, errNotThisClinics
	}
	if err != nil {
		return beckon.Message{}, err
	}
	if sd.MessageID == "" {
		return beckon.Message{}, beckon.ErrNotFound
	}
	m, err := s.store.MessageGet(ctx, p.ClinicID, sd.MessageID)
	if err == nil && m.Provider != p.Provider {
		return beckon.Message{}, beckon.ErrNotFound
	}
	return m, err
}

// fallbackFor plans the fallback of the message's send when its step asks
// for one and the appointment has not begun.
func fallbackFor(ctx context.Context, q beckon.Querier, msg beckon.Message, now time.Time) (beckon.Send, bool, error) {
	sd, err := q.SendGet(ctx, msg.ClinicID, msg.SendID)
	if errors.Is(err, beckon.ErrNotFound) {
		return beckon.Send{}, false, nil
	}
	if err != nil {
		return beckon.Send{}, false, err
	}
	c, err := q.CampaignGet(ctx, sd.ClinicID, sd.CampaignID)
	if errors.Is(err, beckon.ErrNotFound) {
		return beckon.Send{}, false, nil
	}
	if err != nil {
		return beckon.Send{}, false, err
	}
	fb, ok := fallbackSend(sd, stepOf(c, sd.StepID), msg.Channel, now)
	if ok {
		fb.Reason = "fallback: the " + string(msg.Channel) + " message was not delivered"
	}
	return fb, ok, nil
}
