package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

// TestConsentLedger records opt-outs and opt-ins in the consent ledger: once
// per id, for every patient sharing a number, for patients written later
// with that number, in order, and only in the clinic that recorded them.
func TestConsentLedger(t *testing.T) {
	t.Parallel()
	const phone = "+15555550123"
	stop := func(b *bundle, id string, at time.Time) beckon.ConsentChange {
		return beckon.ConsentChange{
			ID: id, ClinicID: b.clinic.ID, Phone: phone, Channel: beckon.ChannelSMS,
			State: beckon.ConsentOptedOut, How: beckon.ConsentKeyword, Text: "STOP", MessageID: "msg_in_1", At: at,
		}
	}
	smsOf := func(t *testing.T, b *bundle, clinicID, id string) string {
		t.Helper()
		p, err := b.st.PatientGet(b.ctx, clinicID, id)
		noErr(t, "get patient", err)
		return p.SMSConsent
	}
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("IdempotentByID", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: phone})
			applied, err := b.st.ConsentRecord(b.ctx, stop(b, "cns_msg_in_1", b.now))
			noErr(t, "record", err)
			equal(t, "first applied", applied, true)
			// The same change again (a task run twice) after a START: the
			// START stands and the ledger holds the STOP once.
			_, err = b.st.ConsentRecord(b.ctx, beckon.ConsentChange{
				ID: "cns_msg_in_2", ClinicID: b.clinic.ID, Phone: phone, Channel: beckon.ChannelSMS,
				State: beckon.ConsentOptedIn, How: beckon.ConsentKeyword, Text: "START", At: b.now.Add(time.Minute),
			})
			noErr(t, "start", err)
			applied, err = b.st.ConsentRecord(b.ctx, stop(b, "cns_msg_in_1", b.now.Add(2*time.Minute)))
			noErr(t, "record again", err)
			equal(t, "second applied", applied, false)
			equal(t, "patient", smsOf(t, b, b.clinic.ID, p.ID), beckon.ConsentOptedIn)
			state, err := b.st.ConsentPhoneState(b.ctx, b.clinic.ID, phone)
			noErr(t, "phone state", err)
			equal(t, "phone state", state, beckon.ConsentOptedIn)
			h, err := b.st.ConsentHistory(b.ctx, b.clinic.ID, p.ID)
			noErr(t, "history", err)
			equal(t, "history", len(h), 2)
		})
		t.Run("HouseholdNumber", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			parent := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: phone, SMSConsent: beckon.ConsentOptedIn})
			child := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: phone})
			neighbour := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: "+15555550999"})
			c := stop(b, "cns_1", b.now)
			c.PatientID = parent.ID
			_, err := b.st.ConsentRecord(b.ctx, c)
			noErr(t, "record", err)
			equal(t, "parent", smsOf(t, b, b.clinic.ID, parent.ID), beckon.ConsentOptedOut)
			equal(t, "child", smsOf(t, b, b.clinic.ID, child.ID), beckon.ConsentOptedOut)
			equal(t, "neighbour", smsOf(t, b, b.clinic.ID, neighbour.ID), beckon.ConsentUnknown)
			// The child's history shows the number's entry, the parent's text.
			h, err := b.st.ConsentHistory(b.ctx, b.clinic.ID, child.ID)
			noErr(t, "child history", err)
			c.At = b.now
			equal(t, "child history", h, []beckon.ConsentChange{c})
			h, err = b.st.ConsentHistory(b.ctx, b.clinic.ID, neighbour.ID)
			noErr(t, "neighbour history", err)
			equal(t, "neighbour history", len(h), 0)
		})
		t.Run("PatientWrittenLaterTakesTheNumbersState", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.ConsentRecord(b.ctx, stop(b, "cns_1", b.now)) // a number no patient has yet
			noErr(t, "record", err)
			// Written one at a time, claiming the patient opted in.
			p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: phone, SMSConsent: beckon.ConsentOptedIn})
			equal(t, "upserted", smsOf(t, b, b.clinic.ID, p.ID), beckon.ConsentOptedOut)
			// Written by the one writer (a feed), with other patients.
			later := beckon.Patient{ClinicID: b.clinic.ID, ID: "pat_later", FirstName: "Leo", Phone: phone,
				SMSConsent: beckon.ConsentUnknown, EmailConsent: beckon.ConsentUnknown, CreatedAt: b.now}
			elsewhere := later
			elsewhere.ID, elsewhere.Phone = "pat_elsewhere", "+15555550999"
			noErr(t, "write", b.st.Write(b.ctx, beckon.Writes{ClinicID: b.clinic.ID, Patients: []beckon.Patient{later, elsewhere}}))
			equal(t, "written", smsOf(t, b, b.clinic.ID, later.ID), beckon.ConsentOptedOut)
			equal(t, "other number", smsOf(t, b, b.clinic.ID, elsewhere.ID), beckon.ConsentUnknown)
			// A number opted back in lets a patient written after it be opted in.
			_, err = b.st.ConsentRecord(b.ctx, beckon.ConsentChange{
				ID: "cns_2", ClinicID: b.clinic.ID, Phone: phone, Channel: beckon.ChannelSMS,
				State: beckon.ConsentOptedIn, How: beckon.ConsentStaff, By: "Dr. Who", At: b.now.Add(time.Hour),
			})
			noErr(t, "opt in", err)
			equal(t, "after opt-in", smsOf(t, b, b.clinic.ID, later.ID), beckon.ConsentOptedIn)
		})
		t.Run("HistoryOrderAndLateArrivals", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: phone, Email: "ana@example.com"})
			in := beckon.ConsentChange{
				ID: "cns_in", ClinicID: b.clinic.ID, PatientID: p.ID, Channel: beckon.ChannelSMS,
				State: beckon.ConsentOptedIn, How: beckon.ConsentStaff, By: "front desk", At: b.now.Add(2 * time.Hour),
			}
			_, err := b.st.ConsentRecord(b.ctx, in) // the phone comes from the patient
			noErr(t, "opt in", err)
			// A STOP from an hour before, recorded late: in the history, but
			// the later opt-in stands.
			_, err = b.st.ConsentRecord(b.ctx, stop(b, "cns_stop", b.now.Add(time.Hour)))
			noErr(t, "late stop", err)
			email := beckon.ConsentChange{
				ID: "cns_mail", ClinicID: b.clinic.ID, PatientID: p.ID, Email: "ana@example.com", Channel: beckon.ChannelEmail,
				State: beckon.ConsentOptedOut, How: beckon.ConsentUnsubscribe, MessageID: "msg_out_1", At: b.now,
			}
			_, err = b.st.ConsentRecord(b.ctx, email)
			noErr(t, "unsubscribe", err)
			got, err := b.st.PatientGet(b.ctx, b.clinic.ID, p.ID)
			noErr(t, "get", err)
			equal(t, "consent", [2]string{got.SMSConsent, got.EmailConsent}, [2]string{beckon.ConsentOptedIn, beckon.ConsentOptedOut})
			h, err := b.st.ConsentHistory(b.ctx, b.clinic.ID, p.ID)
			noErr(t, "history", err)
			ids := make([]string, len(h))
			for i, c := range h {
				ids[i] = c.ID
			}
			equal(t, "order", ids, []string{"cns_mail", "cns_stop", "cns_in"})
			in.Phone = phone
			equal(t, "opt-in entry", h[2], in)
		})
		t.Run("ClinicScope", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			mine := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{ID: "pat_1", Phone: phone})
			theirs := storetest.Patient(t, b.st, other.ID, storetest.PatientOpts{ID: "pat_1", Phone: phone})
			c := stop(b, "cns_1", b.now)
			c.PatientID = mine.ID
			_, err := b.st.ConsentRecord(b.ctx, c)
			noErr(t, "record", err)
			equal(t, "other clinic's patient", smsOf(t, b, other.ID, theirs.ID), beckon.ConsentUnknown)
			state, err := b.st.ConsentPhoneState(b.ctx, other.ID, phone)
			noErr(t, "other clinic's number", err)
			equal(t, "other clinic's number", state, beckon.ConsentUnknown)
			h, err := b.st.ConsentHistory(b.ctx, other.ID, theirs.ID)
			noErr(t, "other clinic's history", err)
			equal(t, "other clinic's history", len(h), 0)
			// The same id in the other clinic is another change.
			c.ClinicID, c.PatientID = other.ID, theirs.ID
			applied, err := b.st.ConsentRecord(b.ctx, c)
			noErr(t, "other clinic's record", err)
			equal(t, "other clinic's change applied", applied, true)
			equal(t, "other clinic's patient after", smsOf(t, b, other.ID, theirs.ID), beckon.ConsentOptedOut)
		})
		t.Run("InvalidChange", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for name, c := range map[string]beckon.ConsentChange{
				"no address": {ID: "cns_1", ClinicID: b.clinic.ID, Channel: beckon.ChannelSMS, State: beckon.ConsentOptedOut},
				"bad state":  {ID: "cns_1", ClinicID: b.clinic.ID, Phone: phone, Channel: beckon.ChannelSMS, State: "maybe"},
				"bad channel": {ID: "cns_1", ClinicID: b.clinic.ID, Phone: phone, Channel: beckon.ChannelPreferred,
					State: beckon.ConsentOptedOut},
			} {
				_, err := b.st.ConsentRecord(b.ctx, c)
				isErr(t, name, err, beckon.ErrInvalidData)
			}
			state, err := b.st.ConsentPhoneState(b.ctx, b.clinic.ID, phone)
			noErr(t, "phone state", err)
			equal(t, "nothing recorded", state, beckon.ConsentUnknown)
		})
		t.Run("SendReadSeesTheNumber", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: phone})
			sd := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_1", PatientID: p.ID})
			got, err := b.st.SendReadMany(b.ctx, b.clinic.ID, []string{sd.ID})
			noErr(t, "read before", err)
			equal(t, "before", got[sd.ID].PhoneConsent, "")
			_, err = b.st.ConsentRecord(b.ctx, stop(b, "cns_1", b.now))
			noErr(t, "record", err)
			got, err = b.st.SendReadMany(b.ctx, b.clinic.ID, []string{sd.ID})
			noErr(t, "read after", err)
			equal(t, "after", got[sd.ID].PhoneConsent, beckon.ConsentOptedOut)
		})
	})
}
