package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// planMessage plans a message send of the bundle's clinic due now.
func (b *bundle) planMessage(t *testing.T, p beckon.MessageSendParams) beckon.Send {
	t.Helper()
	p.ClinicID, p.Channel, p.DueAt = b.clinic.ID, beckon.ChannelSMS, b.clock.Now()
	if p.By == "" {
		p.By = "staff_1"
	}
	sd, created, err := b.st.SendPlanMessage(context.Background(), p)
	if err != nil || !created {
		t.Fatalf("plan message: %v (created %v)", err, created)
	}
	return sd
}

func (b *bundle) deliverSend(t *testing.T, id string) beckon.Send {
	t.Helper()
	ctx := context.Background()
	if err := b.d.Deliver(ctx, b.clinic.ID, id, false); err != nil {
		t.Fatal(err)
	}
	s, err := b.st.SendGet(ctx, b.clinic.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b *bundle) optOut(t *testing.T) {
	t.Helper()
	if _, err := b.st.ConsentRecord(context.Background(), beckon.ConsentChange{
		ID: beckon.NewID("cns_"), ClinicID: b.clinic.ID, PatientID: b.patient.ID, Phone: b.patient.Phone, Channel: beckon.ChannelSMS,
		State: beckon.ConsentOptedOut, How: beckon.ConsentStaff, By: "test", At: b.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
}

func TestMessageSendGoesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sd := b.planMessage(t, beckon.MessageSendParams{ID: "snd_msg_1", PatientID: b.patient.ID, Text: "Your forms are ready."})
	got := b.deliverSend(t, sd.ID)
	if got.Status != beckon.SendSent || got.MessageID == "" {
		t.Fatalf("send = %+v, want sent", got)
	}
	m, err := b.st.MessageGet(context.Background(), b.clinic.ID, got.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Body != "Your forms are ready." || m.To != b.patient.Phone || m.Direction != beckon.Outbound || m.SendID != sd.ID {
		t.Fatalf("message = %+v", m)
	}
	// A duplicated task changes nothing.
	b.deliverSend(t, sd.ID)
	if c := b.ch.calls.Load(); c != 1 {
		t.Fatalf("channel called %d times, want 1", c)
	}
}

func TestMessageSendTemplateAboutAnAppointment(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sd := b.planMessage(t, beckon.MessageSendParams{ID: "snd_ans_1", PatientID: b.patient.ID, AppointmentID: b.appt.ID,
		Template: "appointment_reminder", InReplyTo: "msg_x", By: "system"})
	got := b.deliverSend(t, sd.ID)
	if got.Status != beckon.SendSent {
		t.Fatalf("send = %+v, want sent", got)
	}
	m, err := b.st.MessageGet(context.Background(), b.clinic.ID, got.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Body, "June 3") || m.AppointmentID != b.appt.ID {
		t.Fatalf("message %q about %q, want the appointment's date and id", m.Body, m.AppointmentID)
	}
}

func TestMessageSendConsent(t *testing.T) {
	t.Parallel()
	t.Run("OptedOutPatientGetsNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.optOut(t)
		sd := b.planMessage(t, beckon.MessageSendParams{ID: "snd_msg_2", PatientID: b.patient.ID, Text: "hello"})
		got := b.deliverSend(t, sd.ID)
		if got.Status != beckon.SendSkipped || got.Reason != "patient opted out of sms" || b.ch.calls.Load() != 0 {
			t.Fatalf("send = %+v after %d calls, want skipped without a call", got, b.ch.calls.Load())
		}
	})
	t.Run("OptedOutNumberGetsNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.optOut(t)
		sd := b.planMessage(t, beckon.MessageSendParams{ID: "snd_msg_3", To: b.patient.Phone, Template: "appointment_reminder", By: "system"})
		got := b.deliverSend(t, sd.ID)
		if got.Status != beckon.SendSkipped || b.ch.calls.Load() != 0 {
			t.Fatalf("send = %+v, want skipped", got)
		}
	})
	t.Run("ConsentExemptGoes", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.optOut(t)
		sd := b.planMessage(t, beckon.MessageSendParams{ID: "snd_ans_2", PatientID: b.patient.ID, Text: "You are unsubscribed.", ConsentExempt: true, By: "system"})
		got := b.deliverSend(t, sd.ID)
		if got.Status != beckon.SendSent || b.ch.calls.Load() != 1 {
			t.Fatalf("send = %+v, want sent once", got)
		}
	})
	t.Run("OptedOutPatientAtAnotherNumberGetsNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.optOut(t)
		sd := b.planMessage(t, beckon.MessageSendParams{ID: "snd_msg_4", To: "+14155550999", PatientID: b.patient.ID, Text: "hello"})
		got := b.deliverSend(t, sd.ID)
		if got.Status != beckon.SendSkipped || b.ch.calls.Load() != 0 {
			t.Fatalf("send = %+v, want skipped", got)
		}
	})
}

func TestMessageSendQuietHours(t *testing.T) {
	t.Parallel()
	// 23:00 in New York, inside the default quiet hours.
	night := time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC)
	t.Run("HeldUntilMorning", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.clock.Set(night)
		sd := b.planMessage(t, beckon.MessageSendParams{ID: "snd_msg_5", PatientID: b.patient.ID, Text: "hello"})
		got := b.deliverSend(t, sd.ID)
		if got.Status != beckon.SendPlanned || !got.DueAt.After(night) || got.Reason != "quiet hours" || b.ch.calls.Load() != 0 {
			t.Fatalf("send = %+v, want held until after quiet hours", got)
		}
	})
	t.Run("ExemptGoes", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.clock.Set(night)
		sd := b.planMessage(t, beckon.MessageSendParams{ID: "snd_ans_5", PatientID: b.patient.ID, Text: "Thanks, got it.", QuietExempt: true})
		got := b.deliverSend(t, sd.ID)
		if got.Status != beckon.SendSent {
			t.Fatalf("send = %+v, want sent in quiet hours", got)
		}
	})
}
