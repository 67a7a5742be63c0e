package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestChannelSettings(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTripAndRevision", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.ChannelSettingsGet(b.ctx, b.clinic.ID)
			isErr(t, "get before put", err, beckon.ErrNotFound)
			want := beckon.ChannelSettings{
				ClinicID:                  b.clinic.ID,
				TwilioAccountSID:          "AC123",
				TwilioAuthToken:           "secret",
				TwilioFrom:                "+14155550100",
				TwilioMessagingServiceSID: "MG123",
				TwilioPerSecond:           2.5,
				SendGridAPIKey:            "SG.key",
				SendGridFrom:              "clinic@example.com",
				SendGridFromName:          "Clinic",
				SendGridPerSecond:         50,
				SendGridWebhookKey:        "MFkw",
				UpdatedAt:                 b.now,
			}
			got, err := b.st.ChannelSettingsPut(b.ctx, want)
			noErr(t, "put", err)
			want.Revision = 1
			equal(t, "put", got, want)
			got, err = b.st.ChannelSettingsGet(b.ctx, b.clinic.ID)
			noErr(t, "get", err)
			equal(t, "get", got, want)

			want.TwilioAuthToken, want.TwilioPerSecond = "", 0
			want.UpdatedAt = b.now.Add(time.Second)
			got, err = b.st.ChannelSettingsPut(b.ctx, want)
			noErr(t, "put again", err)
			want.Revision = 2
			equal(t, "put again", got, want)

			other := b.otherClinic(t)
			_, err = b.st.ChannelSettingsGet(b.ctx, other.ID)
			isErr(t, "other clinic", err, beckon.ErrNotFound)
		})
	})
}

func TestMessageStatus(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		insert := func(t *testing.T, b *bundle, id, providerID string) beckon.Message {
			t.Helper()
			m := beckon.Message{
				ID: id, ClinicID: b.clinic.ID, Direction: beckon.Outbound, Channel: beckon.ChannelSMS,
				Status: beckon.MessageQueued, Provider: "twilio", ProviderID: providerID, CreatedAt: b.now,
			}
			noErr(t, "insert", b.st.MessageInsert(b.ctx, m))
			return m
		}
		t.Run("GetByProvider", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			m := insert(t, b, "msg_1", "SM1")
			insert(t, b, "msg_2", "SM2")
			got, err := b.st.MessageGetByProvider(b.ctx, b.clinic.ID, "twilio", "SM1")
			noErr(t, "get", err)
			equal(t, "id", got.ID, m.ID)
			_, err = b.st.MessageGetByProvider(b.ctx, b.clinic.ID, "sendgrid", "SM1")
			isErr(t, "other provider", err, beckon.ErrNotFound)
			_, err = b.st.MessageGetByProvider(b.ctx, b.clinic.ID, "twilio", "")
			isErr(t, "empty id", err, beckon.ErrNotFound)
		})
		t.Run("NeverBackwards", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			m := insert(t, b, "msg_1", "SM1")
			steps := []struct {
				status string
				moved  bool
				want   string
			}{
				{beckon.MessageDelivered, true, beckon.MessageDelivered},
				{beckon.MessageSent, false, beckon.MessageDelivered}, // late, out of order
				{"spamreport", false, beckon.MessageDelivered},       // history only
				{beckon.MessageQueued, false, beckon.MessageDelivered},
			}
			for i, s := range steps {
				moved, err := b.st.MessageStatusApply(b.ctx, b.clinic.ID, beckon.MessageEvent{
					MessageID: m.ID, Status: s.status, Detail: "d", At: b.now.Add(time.Duration(i+1) * time.Second),
				})
				noErr(t, "apply "+s.status, err)
				equal(t, "moved "+s.status, moved, s.moved)
				got, err := b.st.MessageGet(b.ctx, b.clinic.ID, m.ID)
				noErr(t, "get", err)
				equal(t, "status after "+s.status, got.Status, s.want)
				equal(t, "events", len(got.Events), i+1)
			}
			_, err := b.st.MessageStatusApply(b.ctx, b.otherClinic(t).ID, beckon.MessageEvent{MessageID: m.ID, Status: beckon.MessageSent})
			isErr(t, "other clinic", err, beckon.ErrNotFound)
		})
		t.Run("ConcurrentNeverBackwards", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for i := range 10 {
				m := insert(t, b, fmt.Sprintf("msg_%d", i), fmt.Sprintf("SM%d", i))
				var wg sync.WaitGroup
				errs := make(chan error, 2)
				for _, st := range []string{beckon.MessageSent, beckon.MessageDelivered} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := b.st.MessageStatusApply(b.ctx, b.clinic.ID, beckon.MessageEvent{MessageID: m.ID, Status: st, At: b.now})
						errs <- err
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					noErr(t, "apply", err)
				}
				got, err := b.st.MessageGet(b.ctx, b.clinic.ID, m.ID)
				noErr(t, "get", err)
				equal(t, "status", got.Status, beckon.MessageDelivered)
			}
		})
		t.Run("ProviderEventOnce", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			first, err := b.st.ProviderEventRecord(b.ctx, b.clinic.ID, "twilio", "SM1:delivered", b.now)
			noErr(t, "first", err)
			equal(t, "first", first, true)
			first, err = b.st.ProviderEventRecord(b.ctx, b.clinic.ID, "twilio", "SM1:delivered", b.now)
			noErr(t, "again", err)
			equal(t, "again", first, false)
			first, err = b.st.ProviderEventRecord(b.ctx, b.clinic.ID, "sendgrid", "SM1:delivered", b.now)
			noErr(t, "other provider", err)
			equal(t, "other provider", first, true)
		})
		t.Run("ConsentAndUndeliverable", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{ID: "pat-1"})
			_, err := b.st.ConsentRecord(b.ctx, beckon.ConsentChange{
				ID: "cns_1", ClinicID: b.clinic.ID, PatientID: p.ID, Channel: beckon.ChannelSMS,
				State: beckon.ConsentOptedOut, How: beckon.ConsentProviderError, At: b.now,
			})
			noErr(t, "opt out", err)
			got, err := b.st.PatientGet(b.ctx, b.clinic.ID, p.ID)
			noErr(t, "get", err)
			equal(t, "sms consent", got.SMSConsent, beckon.ConsentOptedOut)
			equal(t, "email consent", got.EmailConsent, p.EmailConsent)
			_, err = b.st.ConsentRecord(b.ctx, beckon.ConsentChange{
				ID: "cns_2", ClinicID: b.clinic.ID, PatientID: "nobody", Channel: beckon.ChannelEmail,
				State: beckon.ConsentOptedOut, How: beckon.ConsentUnsubscribe,
			})
			isErr(t, "missing patient and no address", err, beckon.ErrInvalidData)

			_, err = b.st.AddressUndeliverableGet(b.ctx, b.clinic.ID, beckon.ChannelEmail, "a@example.com")
			isErr(t, "unknown address", err, beckon.ErrNotFound)
			a := beckon.UndeliverableAddress{ClinicID: b.clinic.ID, Channel: beckon.ChannelEmail, Address: "a@example.com", Reason: "bounce", At: b.now}
			noErr(t, "mark", b.st.AddressMarkUndeliverable(b.ctx, a))
			a.Reason, a.At = "dropped", b.now.Add(time.Minute)
			noErr(t, "mark again", b.st.AddressMarkUndeliverable(b.ctx, a))
			gotA, err := b.st.AddressUndeliverableGet(b.ctx, b.clinic.ID, beckon.ChannelEmail, "a@example.com")
			noErr(t, "get address", err)
			equal(t, "address", gotA, a)
			_, err = b.st.AddressUndeliverableGet(b.ctx, b.otherClinic(t).ID, beckon.ChannelEmail, "a@example.com")
			isErr(t, "other clinic", err, beckon.ErrNotFound)
		})
	})
}
