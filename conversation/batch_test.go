package conversation_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/conversation"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// A batch holding a household's "C" and then its "2", and another
// patient's "C", applies the household's in order (the question, then the
// choice) and the other's beside them, in one transaction.
func TestApplyBatchKeepsANumbersOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const home, solo = "+15555550102", "+15555550103"
	ana := storetest.Patient(t, f.st, f.clinic.ID, storetest.PatientOpts{FirstName: "Ana", Phone: home})
	leo := storetest.Patient(t, f.st, f.clinic.ID, storetest.PatientOpts{FirstName: "Leo", Phone: home})
	sam := storetest.Patient(t, f.st, f.clinic.ID, storetest.PatientOpts{FirstName: "Sam", Phone: solo})
	f.reminded(ana.ID, "apt-ana", 26*time.Hour)
	f.reminded(leo.ID, "apt-leo", 26*time.Hour+30*time.Minute)
	f.reminded(sam.ID, "apt-sam", 27*time.Hour)
	put := func(sid, from, body, patientID string) beckon.InboundSMS {
		m, _, err := f.st.InboundSMSPut(f.ctx, beckon.InboundSMS{
			ClinicID: f.clinic.ID, PatientID: patientID, Provider: "twilio", ProviderID: sid, From: from, Body: body,
			ReceivedAt: f.clock.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	msgs := []beckon.InboundSMS{put("SM1", home, "C", ""), put("SM2", solo, "C", sam.ID), put("SM3", home, "2", "")}
	it := &conversation.Interpreter{Confirm: &scheduler.Service{Store: f.st, Clock: f.clock}, Clock: f.clock}
	var got []conversation.Result
	err := f.st.InTx(f.ctx, func(q beckon.Querier) error {
		var err error
		got, err = it.ApplyBatch(f.ctx, q, msgs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d results for 3 messages", len(got))
	}
	if r := got[0].Interpretation; r.Question != "which" || r.AppointmentID != "" {
		t.Fatalf("the household's C: %+v, want the which question", r)
	}
	if r := got[1].Interpretation; r.Intent != "confirm" || r.AppointmentID != "apt-sam" {
		t.Fatalf("the other number's C: %+v", r)
	}
	if r := got[2].Interpretation; r.Intent != "choice" || r.AppointmentID != "apt-leo" || r.Answer != conversation.TemplateConfirmed {
		t.Fatalf("the household's 2: %+v, want Leo's appointment confirmed", r)
	}
	if f.confirmation("apt-ana") != beckon.Unconfirmed || f.confirmation("apt-leo") != beckon.Confirmed || f.confirmation("apt-sam") != beckon.Confirmed {
		t.Fatalf("ana %s, leo %s, sam %s; want leo and sam confirmed", f.confirmation("apt-ana"), f.confirmation("apt-leo"), f.confirmation("apt-sam"))
	}
	if p := f.answer(got[2].Interpretation.AnswerSendID); p.PatientID != leo.ID {
		t.Fatalf("the confirmation answer goes to %q, want Leo", p.PatientID)
	}
	if p := f.answer(got[1].Interpretation.AnswerSendID); p.PatientID != sam.ID {
		t.Fatalf("Sam's answer goes to %q", p.PatientID)
	}
	for _, m := range msgs {
		if _, err := f.st.EventGet(f.ctx, f.clinic.ID, beckon.EventID(f.clinic.ID, beckon.EventMessageReceived, m.ID)); err != nil {
			t.Fatalf("message %s's event: %v", m.ProviderID, err)
		}
	}
}
