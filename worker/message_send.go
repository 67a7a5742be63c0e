package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/templates"
)

// A message send (beckon.MessageSendParams: an answer to a reply, a staff
// member's free text) goes through the same claim, pace, final check, call
// and record as a step send; what differs is what it is checked against.
// It has no campaign or step to re-check: its patient's consent on SMS (and
// that of every patient of the clinic with the number it goes to) unless it
// is ConsentExempt, quiet hours unless it is QuietExempt, and its due time.
// Its content is read with one more statement, for message sends only.

// runMessage delivers a claimed message send.
func (a *attempt) runMessage(ctx context.Context) error {
	sd := a.send
	mp, err := a.d.store.SendMessageGet(ctx, sd.ClinicID, sd.ID)
	if errors.Is(err, beckon.ErrNotFound) {
		return a.finish(ctx, beckon.SendFailed, "message content missing", "")
	}
	if err != nil {
		return a.release(ctx, fmt.Errorf("load message send: %w", err))
	}
	a.message = &mp
	clinic, err := a.d.snap.clinic(ctx, sd.ClinicID)
	if err != nil {
		return a.release(ctx, fmt.Errorf("load clinic: %w", err))
	}
	var patient beckon.Patient
	if sd.PatientID != "" {
		patient, err = a.patient(ctx)
		if errors.Is(err, beckon.ErrNotFound) {
			return a.settle(ctx, gonePatient)
		}
		if err != nil {
			return a.release(ctx, fmt.Errorf("load patient: %w", err))
		}
	}
	var appt beckon.Appointment
	if mp.AppointmentID != "" {
		// Template data only: an answer about an appointment that is gone
		// still goes, without its details.
		appt, err = a.d.store.AppointmentGet(ctx, sd.ClinicID, mp.AppointmentID)
		if err != nil && !errors.Is(err, beckon.ErrNotFound) {
			return a.release(ctx, fmt.Errorf("load appointment: %w", err))
		}
	}
	now, err := a.waitDue(ctx)
	if err != nil {
		return a.release(ctx, err)
	}
	v, err := a.decideMessage(ctx, clinic, patient, now)
	if err != nil {
		return a.release(ctx, err)
	}
	if v.settled() {
		return a.settle(ctx, v)
	}
	a.kind, a.to = v.kind, v.to
	if mp.To != "" {
		// The claim batch read the patients' addresses, not this one.
		a.pre = nil
	}
	if done, err := a.checkAddress(ctx); done || err != nil {
		return err
	}
	choices, err := a.loadChoices(ctx)
	if errors.Is(err, errChoiceGone) {
		return a.finish(ctx, beckon.SendSkipped, err.Error(), "")
	}
	if err != nil {
		return a.release(ctx, err)
	}
	msg, err := a.renderMessage(clinic, patient, appt, choices)
	if err != nil {
		return a.finish(ctx, beckon.SendFailed, err.Error(), "")
	}
	return a.deliver(ctx, clinic, appt, msg)
}

// decideMessage applies the latest truth to a message send at now: the
// consent of its recipient, quiet hours and its due time. p is the send's
// patient (zero when it has none).
func (a *attempt) decideMessage(ctx context.Context, clinic beckon.Clinic, p beckon.Patient, now time.Time) (verdict, error) {
	mp := a.message
	to := mp.To
	if to == "" {
		to = p.Phone
	}
	if to == "" {
		return verdict{status: beckon.SendSkipped, reason: reasonNoPhone}, nil
	}
	if !mp.ConsentExempt {
		if a.send.PatientID != "" && p.SMSConsent == beckon.ConsentOptedOut {
			return verdict{status: beckon.SendSkipped, reason: "patient opted out of sms"}, nil
		}
		out, err := a.numberOptedOut(ctx, to)
		if err != nil {
			return verdict{}, err
		}
		if out {
			return verdict{status: beckon.SendSkipped, reason: "the number opted out of sms"}, nil
		}
	}
	if !mp.QuietExempt && clinic.QuietHours.Enabled {
		if end, inside := scheduler.QuietUntil(clinic.QuietHours, scheduler.Location(clinic, p), now); inside {
			return verdict{until: end, reason: "quiet hours"}, nil
		}
	}
	if now.Before(a.send.DueAt) {
		return verdict{until: a.send.DueAt, reason: "not due yet"}, nil
	}
	return verdict{kind: beckon.ChannelSMS, to: to}, nil
}

// numberOptedOut reports whether the number opted out of SMS in the send's
// clinic: the consent ledger's state of the number, which a STOP from it
// set whether or not a patient has it (a household shares one).
func (a *attempt) numberOptedOut(ctx context.Context, number string) (bool, error) {
	state, err := a.d.store.ConsentPhoneState(ctx, a.send.ClinicID, number)
	if err != nil {
		return false, fmt.Errorf("check the number's consent: %w", err)
	}
	return state == beckon.ConsentOptedOut, nil
}

// renderMessage builds a message send's message: its template in the
// params' language or the patient's, or its text as it is. However it
// fails, the error fails this send alone.
func (a *attempt) renderMessage(c beckon.Clinic, p beckon.Patient, appt beckon.Appointment, choices []choice) (m channels.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("render panicked", slog.String("panic_type", fmt.Sprintf("%T", r)))
			m, err = channels.Message{}, fmt.Errorf("render: unexpected failure (%T)", r)
		}
	}()
	mp := a.message
	m = channels.Message{SendID: a.send.ID, ClinicID: a.send.ClinicID, Channel: a.kind, To: a.to, Text: mp.Text}
	if mp.Template == "" {
		return m, nil
	}
	contents, ok := templates.Builtin(mp.Template)
	if !ok {
		return channels.Message{}, fmt.Errorf("unknown template %q", mp.Template)
	}
	lang := mp.Language
	if lang == "" {
		lang = p.Language
	}
	content, lang := templates.Select(contents, lang)
	data := templates.NewDataLang(c, p, appt, scheduler.Location(c, p), lang)
	addChoices(&data, c, choices, lang)
	r, err := templates.Render(a.kind, content, data)
	if err != nil {
		return channels.Message{}, fmt.Errorf("render: %w", err)
	}
	m.Subject, m.Text, m.HTML = r.Subject, r.Text, r.HTML
	return m, nil
}

// finalMessageVerdict decides a message send again on the final check's
// fresh read of its patient (nil: gone, or the send has none).
func (a *attempt) finalMessageVerdict(ctx context.Context, clinic beckon.Clinic, p *beckon.Patient) (verdict, error) {
	if a.send.PatientID == "" {
		return a.decideMessage(ctx, clinic, beckon.Patient{}, a.d.clock.Now())
	}
	if p == nil {
		return gonePatient, nil
	}
	return a.decideMessage(ctx, clinic, *p, a.d.clock.Now())
}
