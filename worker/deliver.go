package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/beckonhealth/beckon"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/pacing"
	"github.com/beckonhealth/beckon/coalesce"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/templates"
)

// claimRenewals is how many times a claim in flight is renewed per claim
// timeout: a live worker misses several renewals before its claims go stale.
const claimRenewals = 4

// recordRetryMax is the longest pause between tries to record a message the
// provider accepted.
const recordRetryMax = 4 * time.Second

// minCallShare: a provider call is made only while at least this share
// (1/minCallShare) of the send timeout is left of it.
const minCallShare = 4

// maxEarlyWait is how early a task may arrive and still be held until due.
const maxEarlyWait = 2 * time.Second

// ErrBusy means another worker holds a fresh claim on the send; the task is
// retried later without counting as a failure.
var ErrBusy = errors.New("send is being delivered by another worker")

// Deliverer is the asynq handler for tasks.TypeDeliver tasks. It claims the
// send in the store, re-checks it against the latest truth, renders it, hands it
// to the channel and records the outcome. The claim makes delivery at most once.
type Deliverer struct {
	cfg      Config
	store    beckon.Store
	channels channels.Router
	clock    beckon.Clock
	logger   *slog.Logger
	snap     *snapshots
	// claims and records share statements among deliveries running at once.
	claims  *coalesce.Batcher[beckon.SendRef, claim]
	records *coalesce.Batcher[beckon.SentRecord, error]
	finals  *coalesce.Batcher[finalRef, finalRead]
	starts  *coalesce.Batcher[beckon.SendCall, callStart]
	// paces reserves senders' slots for the sends pacing at the same
	// moment; nil unless the Limiter is a BatchLimiter.
	paces *coalesce.Batcher[pacing.Ask, pacing.Grant]
	// renew keeps the claims in flight fresh.
	renew *renewer
}

// Batches of concurrent deliveries: at most this many sends per statement,
// this many batches in flight, each bounded by batchTimeout. The steps after
// the pacing wait (the final check, the call's start) run in more lanes: a
// send whose rate slot has come goes at once instead of queueing behind a
// batch in flight, so that sends released one by one by the sender's pace
// reach the provider one by one, not bunched by a round trip.
const (
	batchMax        = 200
	batchLanes      = 1
	batchLanesPaced = 4
	batchTimeout    = 30 * time.Second
)

// NewDeliverer returns the delivery handler.
func NewDeliverer(st beckon.Store, router channels.Router, clock beckon.Clock, logger *slog.Logger, cfg Config) *Deliverer {
	if logger == nil {
		logger = slog.Default()
	}
	cfg = cfg.withDefaults()
	d := &Deliverer{
		cfg:      cfg,
		snap:     newSnapshots(st, cfg.SnapshotTTL),
		store:    st,
		channels: router,
		clock:    clock,
		logger:   logger.With(slog.String("component", "deliver")),
	}
	d.claims = &coalesce.Batcher[beckon.SendRef, claim]{Max: batchMax, Lanes: batchLanes, Timeout: batchTimeout, Run: d.claimBatch}
	d.records = &coalesce.Batcher[beckon.SentRecord, error]{Max: batchMax, Lanes: batchLanes, Timeout: batchTimeout, Run: d.recordBatch}
	d.finals = &coalesce.Batcher[finalRef, finalRead]{Max: batchMax, Lanes: batchLanesPaced, Timeout: batchTimeout, Run: d.finalBatch}
	d.starts = &coalesce.Batcher[beckon.SendCall, callStart]{Max: batchMax, Lanes: batchLanesPaced, Timeout: batchTimeout, Run: d.startBatch}
	if bl, ok := cfg.Limiter.(BatchLimiter); ok {
		d.paces = &coalesce.Batcher[pacing.Ask, pacing.Grant]{Max: batchMax, Lanes: batchLanesPaced, Timeout: batchTimeout, Run: bl.ReserveBatch}
	}
	d.renew = newRenewer(st, clock, cfg.ClaimTimeout/claimRenewals, d.logger)
	return d
}

// ProcessTask implements asynq.Handler.
func (d *Deliverer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseDeliverPayload(t.Payload())
	if errors.Is(err, tasks.ErrNoClinic) {
		// Dropped, not archived: that frees the task id (the send id), and
		// the pump's recheck enqueues the send again, with its clinic.
		d.logger.Warn("delivery task without a clinic dropped", slog.String("send_id", p.SendID))
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return d.Deliver(ctx, p.ClinicID, p.SendID, lastAttempt(ctx))
}

func lastAttempt(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= max
}

// Deliver runs one delivery attempt of the clinic's send. final says no retry
// will follow a returned error, so a transient failure ends the send as
// failed. A send id the clinic does not have is logged and ignored.
func (d *Deliverer) Deliver(ctx context.Context, clinicID, sendID string, final bool) error {
	// The common case, a planned send, is claimed and loaded in a batch with
	// the deliveries running at the same moment.
	c, err := d.claims.Do(ctx, beckon.SendRef{ClinicID: clinicID, ID: sendID})
	if err != nil {
		return err
	}
	if c.ok {
		log := d.logger.With(slog.String("send_id", c.send.ID), slog.String("clinic_id", c.send.ClinicID))
		a := attempt{d: d, send: c.send, token: c.token, log: log, final: final, pre: &c}
		return a.run(ctx)
	}
	// Not planned: claimed (perhaps stale), ended or unknown. Look one by one.
	now := d.clock.Now()
	token := beckon.NewID("clm_")
	// First claim only a planned send; take over a claim only when it is stale,
	// and then remember that it was abandoned so the provider is asked first.
	sd, claimed, err := d.store.SendClaim(ctx, beckon.SendClaimParams{ClinicID: clinicID, ID: sendID, Token: token, Now: now})
	resumed, prevToken := false, ""
	if err == nil && !claimed && sd.Status == beckon.SendClaimed && !sd.ClaimedAt.After(now.Add(-d.cfg.ClaimTimeout)) {
		prevToken = sd.ClaimToken
		sd, claimed, err = d.store.SendClaim(ctx, beckon.SendClaimParams{
			ClinicID:    clinicID,
			ID:          sendID,
			Token:       token,
			Now:         now,
			StaleBefore: now.Add(-d.cfg.ClaimTimeout),
		})
		resumed = claimed
	}
	if errors.Is(err, beckon.ErrNotFound) {
		d.logger.Warn("task for a send the clinic does not have", slog.String("send_id", sendID), slog.String("clinic_id", clinicID))
		return nil
	}
	if err != nil {
		return fmt.Errorf("claim send: %w", err)
	}
	log := d.logger.With(slog.String("send_id", sd.ID), slog.String("clinic_id", sd.ClinicID))
	if !claimed {
		switch sd.Status {
		case beckon.SendClaimed, beckon.SendPlanned:
			// Another worker holds it, or it was just released: try later.
			return ErrBusy
		default:
			log.Debug("send already ended", slog.String("status", string(sd.Status)))
			return nil
		}
	}
	a := attempt{d: d, send: sd, token: token, log: log, final: final, resumed: resumed, prevToken: prevToken}
	return a.run(ctx)
}

// attempt is one claimed delivery.
type attempt struct {
	d     *Deliverer
	send  beckon.Send
	token string
	log   *slog.Logger
	final bool
	// resumed says the claim was taken over from prevToken, abandoned.
	resumed   bool
	prevToken string
	// unhold stops renewing the claim.
	unhold func()
	// kind and to are the channel and address resolved for this attempt.
	kind beckon.Channel
	to   string
	step *beckon.Step
	// campaign is the send's campaign as the first check read it.
	campaign beckon.Campaign
	// pre is what the claim batch read for this send; nil: read it here.
	pre *claim
	// message is a message send's content (nil for a step send).
	message *beckon.MessageSendParams
}

func (a *attempt) run(ctx context.Context) error {
	a.unhold = a.d.renew.hold(a.send.ID, a.token)
	defer a.unhold()
	if a.resumed {
		// Whatever the abandoned claim handed the provider is settled first.
		if done, err := a.settleAbandoned(ctx); done || err != nil {
			return err
		}
	}
	sd := a.send
	if a.pre != nil && a.pre.loadErr != nil {
		return a.release(ctx, a.pre.loadErr)
	}
	if sd.IsMessage() {
		return a.runMessage(ctx)
	}
	appt, err := a.appointment(ctx)
	if errors.Is(err, beckon.ErrNotFound) {
		return a.settle(ctx, goneAppointment)
	}
	if err != nil {
		return a.release(ctx, fmt.Errorf("load appointment: %w", err))
	}
	clinic, err := a.d.snap.clinic(ctx, sd.ClinicID)
	if err != nil {
		return a.release(ctx, fmt.Errorf("load clinic: %w", err))
	}
	patient, err := a.patient(ctx)
	if errors.Is(err, beckon.ErrNotFound) {
		return a.settle(ctx, gonePatient)
	}
	if err != nil {
		return a.release(ctx, fmt.Errorf("load patient: %w", err))
	}
	campaign, err := a.d.snap.campaign(ctx, sd.ClinicID, sd.CampaignID, sd.CampaignRevision)
	if errors.Is(err, beckon.ErrNotFound) {
		return a.settle(ctx, goneCampaign)
	}
	if err != nil {
		return a.release(ctx, fmt.Errorf("load campaign: %w", err))
	}

	now, err := a.waitDue(ctx)
	if err != nil {
		return a.release(ctx, err)
	}
	v := a.decide(clinic, patient, appt, campaign, now)
	if v.settled() {
		return a.settle(ctx, v)
	}
	kind, to, loc := v.kind, v.to, scheduler.Location(clinic, patient)
	a.kind, a.to, a.step, a.campaign = kind, to, stepOf(campaign, sd.StepID), campaign
	if done, err := a.checkAddress(ctx); done || err != nil {
		return err
	}
	var lk templates.LinksData
	if kind == beckon.ChannelEmail && a.d.cfg.Links != nil && appt.ID != "" {
		if lk, err = a.d.cfg.Links.make(ctx, sd, appt, now); err != nil {
			return a.release(ctx, err) // the key could not be read: try again
		}
	}
	msg, err := a.render(clinic, patient, appt, campaign, kind, to, loc, lk)
	if err != nil {
		return a.finish(ctx, beckon.SendFailed, err.Error(), "")
	}
	return a.deliver(ctx, clinic, appt, msg)
}

// waitDue returns the time once the send is due: asynq schedules in whole
// seconds, so a task can arrive up to a second early, and that is waited
// out here; anything earlier goes back to the planner (decide).
func (a *attempt) waitDue(ctx context.Context) (time.Time, error) {
	now := a.d.clock.Now()
	if early := a.send.DueAt.Sub(now); early > 0 && early <= maxEarlyWait {
		t := time.NewTimer(early)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return now, ctx.Err()
		}
		now = a.d.clock.Now()
	}
	return now, nil
}

// deliver hands the rendered message to its channel: the pace, the final
// check, the call's recorded start, the call, and the record of it.
func (a *attempt) deliver(ctx context.Context, clinic beckon.Clinic, appt beckon.Appointment, msg channels.Message) error {
	sd := a.send
	ch, err := a.d.channels.Channel(ctx, sd.ClinicID, a.kind)
	if err != nil {
		if channels.KindOf(err) != channels.KindPermanent {
			return a.release(ctx, err) // e.g. the settings could not be read
		}
		return a.finish(ctx, beckon.SendFailed, reasonOf(err), "")
	}
	if done, err := a.pace(ctx, ch, appt); done || err != nil {
		return err
	}
	// What was read above may be seconds old (the early arrival, the pacing
	// wait): decide again on a fresh read, so a change committed before the
	// call starts wins.
	if done, err := a.finalCheck(ctx, clinic); done || err != nil {
		return err
	}
	started, done, err := a.startCall(ctx, msg)
	if done || err != nil {
		return err
	}
	// A worker that takes the claim over asks the provider once the call's
	// timeout has run from its recorded start (settleAbandoned), and sends
	// again if the provider has nothing: so the call must be over by then,
	// whenever it is made. The time from the recorded start to the call
	// (the record's statement waiting on a lock, a starved process) comes
	// off the call.
	left := started.Add(a.d.cfg.SendTimeout).Sub(a.d.clock.Now())
	if left < a.d.cfg.SendTimeout/minCallShare {
		// Too little left for a call that would likely be cut off (its
		// outcome then unknown): not made, handed back to be sent afresh.
		a.log.Warn("the provider call could not start in time; not calling", slog.Duration("left", left))
		return a.snooze(ctx, a.d.clock.Now(), "the provider call could not start in time")
	}
	sendCtx, cancel := context.WithTimeout(ctx, left)
	a.d.cfg.Metrics.SendLateness(string(a.kind), a.d.clock.Now().Sub(sd.DueAt))
	began := time.Now() // a measurement for metrics, not a decision
	rcpt, err := ch.Send(sendCtx, msg)
	a.d.cfg.Metrics.ProviderRequest(channels.ProviderOf(ch), callOutcome(err), time.Since(began))
	cancel()
	if err != nil {
		return a.failed(ctx, ch, err)
	}
	return a.record(ctx, msg, rcpt)
}

// appointmentID is the appointment the send's message is about.
func (a *attempt) appointmentID() string {
	if a.message != nil {
		return a.message.AppointmentID
	}
	return a.send.AppointmentID
}

// appointment is the send's appointment as read after the claim.
func (a *attempt) appointment(ctx context.Context) (beckon.Appointment, error) {
	if a.pre != nil && a.pre.loaded {
		if a.pre.appt == nil {
			return beckon.Appointment{}, beckon.ErrNotFound
		}
		return *a.pre.appt, nil
	}
	return a.d.store.AppointmentGet(ctx, a.send.ClinicID, a.send.AppointmentID)
}

// patient is the send's patient as read after the claim.
func (a *attempt) patient(ctx context.Context) (beckon.Patient, error) {
	if a.pre != nil && a.pre.loaded {
		if a.pre.patient == nil {
			return beckon.Patient{}, beckon.ErrNotFound
		}
		return *a.pre.patient, nil
	}
	return a.d.store.PatientGet(ctx, a.send.ClinicID, a.send.PatientID)
}

// recheck applies the latest truth: DESIGN.md promise 3.
func (a *attempt) recheck(appt beckon.Appointment, c beckon.Campaign, now time.Time) (status beckon.SendStatus, reason string) {
	sd := a.send
	switch {
	case appt.Version != sd.AppointmentVersion:
		return beckon.SendSuperseded, "appointment changed"
	case c.Revision != sd.CampaignRevision:
		return beckon.SendSuperseded, "campaign changed"
	case !c.Active:
		return beckon.SendSuperseded, "campaign inactive"
	case appt.Status == beckon.StatusCancelled:
		return beckon.SendSkipped, "appointment cancelled"
	case appt.Status == beckon.StatusNoShow:
		return beckon.SendSkipped, "appointment marked no-show"
	case sd.BeforeStart && !now.Before(appt.Start):
		return beckon.SendSkipped, "appointment already started"
	case sd.BeforeStart && appt.Status != beckon.StatusBooked:
		return beckon.SendSkipped, "appointment already under way"
	case sd.OnlyIfUnconfirmed && appt.Confirmation == beckon.Confirmed:
		return beckon.SendSkipped, "appointment confirmed"
	}
	if stepOf(c, sd.StepID) == nil {
		return beckon.SendSuperseded, "step removed from campaign"
	}
	return "", ""
}

func stepOf(c beckon.Campaign, id string) *beckon.Step {
	for i := range c.Steps {
		if c.Steps[i].ID == id {
			return &c.Steps[i]
		}
	}
	return nil
}

// resolveChannel turns the step's channel into a concrete one the patient can be
// reached on and has not opted out of; reason explains a skip.
func resolveChannel(step beckon.Channel, p beckon.Patient) (kind beckon.Channel, to, reason string) {
	sms := p.Phone != "" && p.SMSConsent != beckon.ConsentOptedOut
	email := p.Email != "" && p.EmailConsent != beckon.ConsentOptedOut
	switch step {
	case beckon.ChannelSMS:
		if p.Phone == "" {
			return "", "", reasonNoPhone
		}
		if !sms {
			return "", "", "patient opted out of sms"
		}
		return beckon.ChannelSMS, p.Phone, ""
	case beckon.ChannelEmail:
		if p.Email == "" {
			return "", "", reasonNoEmail
		}
		if !email {
			return "", "", "patient opted out of email"
		}
		return beckon.ChannelEmail, p.Email, ""
	default:
		first, second := beckon.ChannelSMS, beckon.ChannelEmail
		if p.PreferredChannel == beckon.ChannelEmail {
			first, second = second, first
		}
		for _, k := range []beckon.Channel{first, second} {
			if k == beckon.ChannelSMS && sms {
				return k, p.Phone, ""
			}
			if k == beckon.ChannelEmail && email {
				return k, p.Email, ""
			}
		}
		if p.Phone == "" && p.Email == "" {
			return "", "", reasonNoAddress
		}
		return "", "", "patient opted out of every channel on file"
	}
}

// Skip reasons for a patient Beckon cannot reach. A feed drops a phone
// number or email address that is not valid (and says so to the sender and
// in the inbound archive), so "no valid … on file" is what the clinic fixes.
const (
	reasonNoPhone   = "no valid phone number on file"
	reasonNoEmail   = "no valid email address on file"
	reasonNoAddress = "no valid phone number or email address on file"
)

// render builds the send's message. However its template fails (content
// that breaks the rules, data that makes a value or the message too large, a
// panic), the error fails this send alone: run ends the send with it as the
// reason and never retries it.
func (a *attempt) render(c beckon.Clinic, p beckon.Patient, appt beckon.Appointment, camp beckon.Campaign, kind beckon.Channel, to string, loc *time.Location, lk templates.LinksData) (m channels.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("render panicked", slog.String("panic_type", fmt.Sprintf("%T", r)))
			m, err = channels.Message{}, fmt.Errorf("render: unexpected failure (%T)", r)
		}
	}()
	step := stepOf(camp, a.send.StepID)
	contents := step.Content
	if step.Template != "" {
		cs, ok := templates.Builtin(step.Template)
		if !ok {
			return channels.Message{}, fmt.Errorf("unknown template %q", step.Template)
		}
		contents = cs
	}
	content, lang := templates.Select(contents, p.Language)
	data := templates.NewDataLang(c, p, appt, loc, lang)
	data.Links = lk
	r, err := templates.Render(kind, content, data)
	if err != nil {
		return channels.Message{}, fmt.Errorf("render: %w", err)
	}
	m = channels.Message{
		SendID:   a.send.ID,
		ClinicID: a.send.ClinicID,
		Channel:  kind,
		To:       to,
		Subject:  r.Subject,
		Text:     r.Text,
		HTML:     r.HTML,
	}
	if lk.Unsubscribe != "" {
		m.Headers = channels.UnsubscribeHeaders(lk.Unsubscribe)
	}
	if a.send.BeforeStart {
		m.NotAfter = appt.Start
	}
	return m, nil
}

// failed handles an error from the channel.
func (a *attempt) failed(ctx context.Context, ch channels.Channel, err error) error {
	var ce *channels.Error
	errors.As(err, &ce)
	kind := channels.KindOf(err)
	a.log.Warn("channel refused send", slog.String("kind", kind), slog.String("error", err.Error()))
	switch kind {
	case channels.KindPermanent:
		return a.refused(ctx, ce)
	case channels.KindThrottled:
		wait := max(ce.RetryAfter, time.Second)
		return a.snooze(ctx, a.d.clock.Now().Add(wait), "provider throttled")
	case channels.KindAmbiguous:
		_, looks := ch.(channels.Looker)
		_, reports := ch.(channels.Reporter)
		if looks || reports {
			// Keep the claim, no longer renewed: once it is stale, an
			// attempt settles it by the provider's word (settleAbandoned).
			a.log.Warn("provider outcome unknown; settled from the provider once the claim is stale")
			return nil
		}
		return a.finish(ctx, beckon.SendUnknown, "provider outcome unknown: "+ce.Reason, "")
	default:
		return a.release(ctx, err)
	}
}

// record stores the accepted message and ends the send as sent, atomically.
func (a *attempt) record(ctx context.Context, m channels.Message, r channels.Receipt) error {
	now := a.d.clock.Now()
	msg := beckon.Message{
		ID:            beckon.NewID("msg_"),
		ClinicID:      a.send.ClinicID,
		PatientID:     a.send.PatientID,
		AppointmentID: a.appointmentID(),
		SendID:        a.send.ID,
		Direction:     beckon.Outbound,
		Channel:       m.Channel,
		To:            m.To,
		From:          r.From,
		Subject:       m.Subject,
		Body:          m.Text,
		HTML:          m.HTML,
		Status:        beckon.MessageQueued,
		Provider:      r.Provider,
		ProviderID:    r.ProviderID,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	events := []beckon.MessageEvent{{MessageID: msg.ID, Status: beckon.MessageQueued, At: now}}
	if r.Status != "" && r.Status != beckon.MessageQueued {
		events = append(events, beckon.MessageEvent{MessageID: msg.ID, Status: r.Status, At: now})
	}
	// Recorded with the other deliveries of the moment, in one transaction;
	// a claim lost meanwhile is beckon.ErrConflict and stores nothing.
	rec := beckon.SentRecord{Token: a.token, Message: msg, Events: events}
	err := a.d.recordOne(ctx, rec)
	for wait := time.Second; err != nil && !errors.Is(err, beckon.ErrConflict) && wait <= recordRetryMax; wait *= 2 {
		// The provider has the message, and only this attempt knows it:
		// keep trying for a while before leaving it to the provider's word.
		a.log.Warn("recording a sent message failed; retrying", slog.String("error", err.Error()))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("record sent message: %w", err)
		}
		err = a.d.recordOne(ctx, rec)
	}
	if err != nil {
		// Never release: the claim goes stale and the next attempt settles
		// it by the provider's word (settleAbandoned).
		return fmt.Errorf("record sent message: %w", err)
	}
	a.d.cfg.Metrics.SendEnded(string(m.Channel), string(beckon.SendSent))
	a.log.Info("send delivered",
		slog.String("channel", string(m.Channel)),
		slog.String("provider", r.Provider),
		slog.String("message_id", msg.ID),
		slog.Int("body_size", len(m.Text)),
		slog.Duration("lateness", now.Sub(a.send.DueAt)))
	return nil
}

func (a *attempt) finish(ctx context.Context, status beckon.SendStatus, reason, messageID string) error {
	err := a.d.store.SendFinish(ctx, beckon.SendFinishParams{
		ID: a.send.ID, Token: a.token, Status: status, Reason: reason, MessageID: messageID, Now: a.d.clock.Now(),
	})
	if errors.Is(err, beckon.ErrConflict) {
		a.log.Warn("claim lost before finishing", slog.String("status", string(status)))
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish send: %w", err)
	}
	a.d.cfg.Metrics.SendEnded(string(a.kind), string(status))
	level := slog.LevelInfo
	if status == beckon.SendUnknown {
		// Nobody knows whether the patient got the message: someone should look.
		level = slog.LevelError
	}
	a.log.Log(ctx, level, "send ended", slog.String("status", string(status)), slog.String("reason", reason))
	return nil
}

// snooze hands the send back with a new due time; the pump enqueues it again.
func (a *attempt) snooze(ctx context.Context, due time.Time, reason string) error {
	err := a.d.store.SendRelease(ctx, beckon.SendReleaseParams{
		ID: a.send.ID, Token: a.token, Reason: reason, DueAt: due, Now: a.d.clock.Now(),
	})
	if err != nil && !errors.Is(err, beckon.ErrConflict) {
		return fmt.Errorf("snooze send: %w", err)
	}
	a.log.Info("send snoozed", slog.String("reason", reason), slog.Time("due_at", due))
	return nil
}

// release hands the send back after a transient failure and asks asynq to retry;
// on the final attempt the send fails instead.
func (a *attempt) release(ctx context.Context, cause error) error {
	if a.final {
		return a.finish(ctx, beckon.SendFailed, "gave up after repeated failures: "+reasonOf(cause), "")
	}
	err := a.d.store.SendRelease(ctx, beckon.SendReleaseParams{
		ID: a.send.ID, Token: a.token, Reason: "retrying: " + reasonOf(cause), Now: a.d.clock.Now(),
	})
	if err != nil && !errors.Is(err, beckon.ErrConflict) {
		return errors.Join(cause, fmt.Errorf("release send: %w", err))
	}
	return cause
}

// codeOf is a channel error's provider code, else "".
func codeOf(err error) string {
	var ce *channels.Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

// reasonOf is an error's reason safe to store and log: a channel error's Reason
// (which never carries PHI), else the error text of our own code.
func reasonOf(err error) string {
	var ce *channels.Error
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return err.Error()
}
