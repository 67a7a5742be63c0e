package store_test

import (
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

// TestInboundSMSPutMany stores a batch of webhooks' messages at once: a
// MessageSid twice in the batch, or stored before, is stored once; each new
// message of a clinic is in the message log once, with its patient when
// exactly one patient of the clinic has the number.
func TestInboundSMSPutMany(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		pat := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: "+14155550101"})
		storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: "+14155550102"})
		storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: "+14155550102"})
		msg := func(sid, from string) beckon.InboundSMS {
			return beckon.InboundSMS{ClinicID: b.clinic.ID, Provider: "twilio", ProviderID: sid, From: from, Body: "C", ReceivedAt: b.now}
		}
		before, _, err := b.st.InboundSMSPut(b.ctx, msg("SMold", "+14155550101"))
		noErr(t, "put before", err)

		got, err := b.st.InboundSMSPutMany(b.ctx, []beckon.InboundSMS{
			msg("SM1", "+14155550101"), msg("SM2", "+14155550102"), msg("SM1", "+14155550101"),
			msg("SMold", "+14155550101"), {Provider: "twilio", ProviderID: "SMnone", From: "+14155550101", Body: "?", ReceivedAt: b.now},
		}, true)
		noErr(t, "put many", err)
		if len(got) != 5 {
			t.Fatalf("%d results for 5 messages", len(got))
		}
		if !got[0].Created || got[2].Created || got[2].Stored.ID != got[0].Stored.ID {
			t.Fatalf("the SID twice in the batch: %+v and %+v, want stored once", got[0], got[2])
		}
		if got[3].Created || got[3].Stored.ID != before.ID {
			t.Fatalf("the SID stored before: %+v, want %s as stored", got[3], before.ID)
		}
		if got[0].Stored.PatientID != pat.ID || !got[1].Created || got[1].Stored.PatientID != "" || !got[4].Created {
			t.Fatalf("patients: %q for the number one patient has, %q for the number two have", got[0].Stored.PatientID, got[1].Stored.PatientID)
		}
		stored, err := b.st.InboundSMSGet(b.ctx, b.clinic.ID, got[0].Stored.ID)
		noErr(t, "get", err)
		if stored.PatientID != pat.ID || stored.ProviderID != "SM1" {
			t.Fatalf("stored %+v", stored)
		}
		log, err := b.st.MessageList(b.ctx, beckon.MessageFilter{ClinicID: b.clinic.ID, Direction: beckon.Inbound})
		noErr(t, "message log", err)
		seen := map[string]int{}
		for _, m := range log {
			seen[m.ProviderID]++
		}
		if len(log) != 3 || seen["SM1"] != 1 || seen["SM2"] != 1 || seen["SMold"] != 1 {
			t.Fatalf("message log holds %v, want SM1, SM2 and SMold once each", seen)
		}
	})
}
