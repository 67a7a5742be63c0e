package worker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// clinicState is what a status could change of a clinic.
type clinicState struct {
	status       string
	events       int
	smsConsent   string
	emailConsent string
	badPhone     bool
	badEmail     bool
	fallback     bool
}

func (sb *statusBundle) state(t *testing.T) clinicState {
	t.Helper()
	ctx := context.Background()
	m := sb.message(t)
	p := sb.patientNow(t)
	known := func(err error) bool {
		if err != nil && !errors.Is(err, beckon.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	_, errPhone := sb.st.AddressUndeliverableGet(ctx, sb.clinic.ID, beckon.ChannelSMS, sb.patient.Phone)
	_, errEmail := sb.st.AddressUndeliverableGet(ctx, sb.clinic.ID, beckon.ChannelEmail, sb.patient.Email)
	_, errFallback := sb.st.SendGet(ctx, sb.clinic.ID, sb.send.ID+worker.FallbackSuffix)
	return clinicState{
		status: m.Status, events: len(m.Events), smsConsent: p.SMSConsent, emailConsent: p.EmailConsent,
		badPhone: known(errPhone), badEmail: known(errEmail), fallback: known(errFallback),
	}
}

// TestStatusCrossClinicChangesNothing: a status scoped to clinic A (verified
// with A's secret) that names clinic B's send or message, by send id, by the
// provider's id or both, changes nothing of B's: not the message's status or
// history, not B's undeliverable addresses, not B's patient's consent, and
// plans no fallback send. B's own statuses with the same keys still apply.
func TestStatusCrossClinicChangesNothing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, provider string
		step           *beckon.Step
		event, code    string
		// after is B's state once B's own status with the same key applied.
		after func(before clinicState) clinicState
	}{
		{"twilio undelivered landline", tasks.ProviderTwilio, fallbackStep(), "undelivered", "30006",
			func(s clinicState) clinicState {
				s.status, s.events, s.badPhone, s.fallback = beckon.MessageUndelivered, s.events+1, true, true
				return s
			}},
		{"sendgrid bounce", tasks.ProviderSendGrid, fallbackStepOn(beckon.ChannelEmail), "bounce", "",
			func(s clinicState) clinicState {
				s.status, s.events, s.badEmail, s.fallback = beckon.MessageUndelivered, s.events+1, true, true
				return s
			}},
		{"sendgrid unsubscribe", tasks.ProviderSendGrid, fallbackStepOn(beckon.ChannelEmail), "unsubscribe", "",
			func(s clinicState) clinicState {
				s.events, s.emailConsent = s.events+1, beckon.ConsentOptedOut
				return s
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := setupStatus(t, c.provider, c.step)
			b := setupStatusIn(t, a.st, c.provider, c.step)
			before := b.state(t)
			key := "k:" + c.event
			for name, p := range map[string]tasks.StatusPayload{
				"send and provider ids": {ProviderID: b.msg.ProviderID, SendID: b.send.ID},
				"send id":               {SendID: b.send.ID},
				"send id, A's provider": {ProviderID: a.msg.ProviderID + "-none", SendID: b.send.ID},
				"provider id":           {ProviderID: b.msg.ProviderID},
			} {
				p.Provider, p.ClinicID, p.Key, p.Event, p.ErrorCode, p.At = c.provider, a.clinic.ID, key, c.event, c.code, a.clock.Now()
				err := a.apply.Apply(context.Background(), p)
				if p.SendID == "" {
					// Not A's (or not recorded yet): retried, never applied.
					if !errors.Is(err, worker.ErrMessageNotYetRecorded) {
						t.Fatalf("%s: err %v, want ErrMessageNotYetRecorded", name, err)
					}
				} else if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := b.state(t); got != before {
					t.Fatalf("%s: clinic B after A's status: %+v, want %+v", name, got, before)
				}
			}
			if got := a.state(t); got.events != 1 || got.status != beckon.MessageQueued {
				t.Fatalf("clinic A changed by statuses naming B's message: %+v", got)
			}
			// B's own status with the same key is applied: A's did not use it up.
			b.status(t, key, c.event, c.code)
			if got, want := b.state(t), c.after(before); got != want {
				t.Fatalf("clinic B after its own status: %+v, want %+v", got, want)
			}
		})
	}
}

// TestStatusInstallationScope: a status verified with the installation's
// secret applies to a clinic that sends through the installation's account,
// and is ignored for a clinic with an account of its own at that provider.
func TestStatusInstallationScope(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, provider string
		step           *beckon.Step
		own            beckon.ChannelSettings
		event, code    string
	}{
		{"twilio", tasks.ProviderTwilio, fallbackStep(),
			beckon.ChannelSettings{TwilioAccountSID: "AC0123456789abcdef0123456789abcdef", TwilioAuthToken: "0123456789abcdef0123456789abcdef"},
			"undelivered", "30006"},
		{"sendgrid", tasks.ProviderSendGrid, fallbackStepOn(beckon.ChannelEmail), beckon.ChannelSettings{SendGridAPIKey: "SG.own"}, "bounce", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			own := setupStatus(t, c.provider, c.step)
			shared := setupStatusIn(t, own.st, c.provider, c.step)
			cs := c.own
			cs.ClinicID = own.clinic.ID
			if _, err := own.st.ChannelSettingsPut(context.Background(), cs); err != nil {
				t.Fatal(err)
			}
			// Another provider's account does not count, nor a sender, nor
			// SendGrid's event key alone (the mail still goes through the
			// installation's account).
			other := beckon.ChannelSettings{ClinicID: shared.clinic.ID, SendGridAPIKey: "SG.x", TwilioFrom: "+14155550100"}
			if c.provider == tasks.ProviderSendGrid {
				other = beckon.ChannelSettings{ClinicID: shared.clinic.ID, SendGridWebhookKey: "b3du",
					TwilioAccountSID: "AC0123456789abcdef0123456789abcdef", TwilioAuthToken: "0123456789abcdef0123456789abcdef"}
			}
			if _, err := own.st.ChannelSettingsPut(context.Background(), other); err != nil {
				t.Fatal(err)
			}
			for _, sb := range []*statusBundle{own, shared} {
				err := sb.apply.Apply(context.Background(), tasks.StatusPayload{
					Provider: c.provider, ClinicID: sb.clinic.ID, ViaInstallation: true, Key: "k1",
					ProviderID: sb.msg.ProviderID, SendID: sb.send.ID, Event: c.event, ErrorCode: c.code, At: sb.clock.Now(),
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := own.state(t); got.status != beckon.MessageQueued || got.events != 1 || got.badPhone || got.badEmail || got.fallback {
				t.Fatalf("clinic with its own account after an installation-verified status: %+v", got)
			}
			if got := shared.state(t); got.status != beckon.MessageUndelivered || !got.fallback {
				t.Fatalf("clinic on the installation's account: %+v, want undelivered with a fallback", got)
			}
		})
	}
}

// TestStatusWithoutClinicIsDropped: a status task without a clinic (queued
// before statuses carried one) is never applied to any clinic.
func TestStatusWithoutClinicIsDropped(t *testing.T) {
	t.Parallel()
	sb := setupStatus(t, tasks.ProviderTwilio, fallbackStep())
	before := sb.state(t)
	err := sb.apply.Apply(context.Background(), tasks.StatusPayload{
		Provider: tasks.ProviderTwilio, Key: "k1", ProviderID: sb.msg.ProviderID, SendID: sb.send.ID, Event: "undelivered", ErrorCode: "30006",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sb.state(t); got != before {
		t.Fatalf("after a status without a clinic: %+v, want %+v", got, before)
	}
}
