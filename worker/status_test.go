package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// twilioLike answers as a provider with its own message ids.
type twilioLike struct{ provider string }

func (c twilioLike) Send(_ context.Context, m channels.Message) (channels.Receipt, error) {
	return channels.Receipt{Provider: c.provider, ProviderID: "PID-" + m.SendID, Status: beckon.MessageQueued}, nil
}

type statusBundle struct {
	*bundle
	apply *worker.StatusApplier
	msg   beckon.Message
}

func setupStatus(t *testing.T, provider string, step *beckon.Step) *statusBundle {
	t.Helper()
	return setupStatusIn(t, nil, provider, step)
}

// setupStatusIn is setupStatus with a clinic of its own in st (nil: a fresh store).
func setupStatusIn(t *testing.T, st beckon.Store, provider string, step *beckon.Step) *statusBundle {
	t.Helper()
	b := setup(t, setupOpts{step: step, st: st})
	ch := twilioLike{provider}
	d := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: ch, beckon.ChannelEmail: ch}, b.clock, quiet, worker.Config{})
	if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
		t.Fatal(err)
	}
	m, err := b.st.MessageGetByProvider(context.Background(), b.clinic.ID, provider, "PID-"+b.send.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &statusBundle{bundle: b, apply: worker.NewStatusApplier(b.st, b.clock, quiet), msg: m}
}

func (sb *statusBundle) status(t *testing.T, key, event, code string) {
	t.Helper()
	err := sb.apply.Apply(context.Background(), tasks.StatusPayload{
		Provider: sb.msg.Provider, ClinicID: sb.clinic.ID, Key: key, ProviderID: sb.msg.ProviderID, SendID: sb.send.ID,
		Event: event, ErrorCode: code, At: sb.clock.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (sb *statusBundle) message(t *testing.T) beckon.Message {
	t.Helper()
	m, err := sb.st.MessageGet(context.Background(), sb.clinic.ID, sb.msg.ID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStatusForwardOnlyAndOnce(t *testing.T) {
	t.Parallel()
	sb := setupStatus(t, tasks.ProviderTwilio, nil)
	sb.status(t, "SM:delivered", "delivered", "")
	sb.status(t, "SM:sent", "sent", "") // late
	sb.status(t, "SM:delivered", "delivered", "")
	m := sb.message(t)
	if m.Status != beckon.MessageDelivered {
		t.Fatalf("status %s, want delivered", m.Status)
	}
	// queued (at record), delivered, sent: the replay adds nothing.
	if len(m.Events) != 3 {
		t.Fatalf("events %+v, want 3", m.Events)
	}
}

func TestStatusUndeliveredSMSFallsBackOnce(t *testing.T) {
	t.Parallel()
	sb := setupStatus(t, tasks.ProviderTwilio, fallbackStep())
	sb.status(t, "SM:undelivered", "undelivered", "30003")
	sb.status(t, "SM:failed", "failed", "30003")
	if m := sb.message(t); m.Status != beckon.MessageUndelivered {
		t.Fatalf("status %s, want undelivered", m.Status)
	}
	fb, err := sb.st.SendGet(context.Background(), sb.clinic.ID, sb.send.ID+worker.FallbackSuffix)
	if err != nil || fb.Channel != beckon.ChannelEmail || fb.Status != beckon.SendPlanned {
		t.Fatalf("fallback %+v (%v), want planned email", fb, err)
	}
	if _, err := sb.st.AddressUndeliverableGet(context.Background(), sb.clinic.ID, beckon.ChannelSMS, sb.patient.Phone); !errors.Is(err, beckon.ErrNotFound) {
		t.Fatal("30003 (unreachable) must not mark the number undeliverable")
	}
}

func TestStatusUndeliveredWithoutFallbackStep(t *testing.T) {
	t.Parallel()
	sb := setupStatus(t, tasks.ProviderTwilio, nil)
	sb.status(t, "SM:undelivered", "undelivered", "30006")
	if _, err := sb.st.SendGet(context.Background(), sb.clinic.ID, sb.send.ID+worker.FallbackSuffix); !errors.Is(err, beckon.ErrNotFound) {
		t.Fatal("fallback planned for a step without fallback")
	}
	if _, err := sb.st.AddressUndeliverableGet(context.Background(), sb.clinic.ID, beckon.ChannelSMS, sb.patient.Phone); err != nil {
		t.Fatalf("30006 (landline) marks the number undeliverable: %v", err)
	}
}

func TestStatusSendGridEvents(t *testing.T) {
	t.Parallel()
	step := &beckon.Step{
		ID: "remind", Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -24 * time.Hour}, Channel: beckon.ChannelEmail,
		Content: beckon.Contents{"en": {Subject: "S", Text: "Hi {{.Patient.FirstName}}"}},
	}
	t.Run("bounce", func(t *testing.T) {
		t.Parallel()
		sb := setupStatus(t, tasks.ProviderSendGrid, step)
		sb.status(t, "ev1", "processed", "")
		sb.status(t, "ev2", "bounce", "")
		if m := sb.message(t); m.Status != beckon.MessageUndelivered {
			t.Fatalf("status %s", m.Status)
		}
		if _, err := sb.st.AddressUndeliverableGet(context.Background(), sb.clinic.ID, beckon.ChannelEmail, sb.patient.Email); err != nil {
			t.Fatalf("bounce marks the address: %v", err)
		}
	})
	t.Run("spamreport", func(t *testing.T) {
		t.Parallel()
		sb := setupStatus(t, tasks.ProviderSendGrid, step)
		sb.status(t, "ev1", "delivered", "")
		sb.status(t, "ev2", "spamreport", "")
		m := sb.message(t)
		if m.Status != beckon.MessageDelivered || m.Events[len(m.Events)-1].Status != "spamreport" {
			t.Fatalf("message %+v", m)
		}
		if p := sb.patientNow(t); p.EmailConsent != beckon.ConsentOptedOut {
			t.Fatalf("email consent %s, want opted out", p.EmailConsent)
		}
		sb.status(t, "ev2", "spamreport", "") // redelivered: recorded once
		h, err := sb.st.ConsentHistory(context.Background(), sb.clinic.ID, sb.patient.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 || h[0].How != beckon.ConsentSpamReport || h[0].MessageID != m.ID || h[0].Email != sb.patient.Email {
			t.Fatalf("consent ledger %+v, want one spam report of the message", h)
		}
	})
	t.Run("by send id when the provider id is unknown", func(t *testing.T) {
		t.Parallel()
		sb := setupStatus(t, tasks.ProviderSendGrid, step)
		err := sb.apply.Apply(context.Background(), tasks.StatusPayload{
			Provider: tasks.ProviderSendGrid, ClinicID: sb.clinic.ID, Key: "ev1", SendID: sb.send.ID, Event: "delivered",
		})
		if err != nil || sb.message(t).Status != beckon.MessageDelivered {
			t.Fatalf("err %v, status %s", err, sb.message(t).Status)
		}
	})
}

func TestStatusUnknownMessageRetries(t *testing.T) {
	t.Parallel()
	sb := setupStatus(t, tasks.ProviderTwilio, nil)
	err := sb.apply.Apply(context.Background(), tasks.StatusPayload{Provider: tasks.ProviderTwilio, ClinicID: sb.clinic.ID, Key: "x", ProviderID: "SMnone", Event: "sent"})
	if !errors.Is(err, worker.ErrMessageNotYetRecorded) {
		t.Fatalf("err %v", err)
	}
}
