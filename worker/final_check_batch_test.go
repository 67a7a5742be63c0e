package worker

import (
	"context"
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/store/storetest"
)

// TestFinalBatchReadsEachSendsOwnTruth reads sends of two clinics in one
// final-check batch: each gets its own send, appointment, patient and
// campaign, within its clinic, and nil for a row that is gone.
func TestFinalBatchReadsEachSendsOwnTruth(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	type world struct {
		clinic beckon.Clinic
		appt   beckon.Appointment
		camp   beckon.Campaign
		send   beckon.Send
	}
	newWorld := func(name string) world {
		c := storetest.Clinic(t, st, storetest.ClinicOpts{Name: name})
		a := storetest.Appointment(t, st, c.ID, storetest.AppointmentOpts{})
		cp := storetest.Campaign(t, st, c.ID, storetest.CampaignOpts{})
		s := storetest.Send(t, st, c.ID, storetest.SendOpts{
			AppointmentID: a.ID, PatientID: a.PatientID, CampaignID: cp.ID,
			Status: beckon.SendClaimed, ClaimToken: "tok", ClaimedAt: a.CreatedAt,
		})
		return world{clinic: c, appt: a, camp: cp, send: s}
	}
	w1, w2 := newWorld("One"), newWorld("Two")
	ref := func(w world) finalRef {
		return finalRef{clinicID: w.clinic.ID, sendID: w.send.ID, appointmentID: w.send.AppointmentID,
			patientID: w.send.PatientID, campaignID: w.send.CampaignID}
	}
	gone := ref(w1)
	gone.appointmentID, gone.patientID, gone.campaignID = "apt_gone", "pat_gone", "cmp_gone"
	cross := ref(w2)
	cross.clinicID = w1.clinic.ID // clinic one names clinic two's rows

	d := NewDeliverer(st, channels.Static{}, beckon.NewManualClock(w1.appt.CreatedAt), nil, Config{})
	got, err := d.finalBatch(ctx, []finalRef{ref(w1), ref(w2), gone, cross})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []world{w1, w2} {
		r := got[i]
		if r.send == nil || r.send.ID != w.send.ID || r.send.ClaimToken != "tok" ||
			r.appt == nil || r.appt.ID != w.appt.ID || r.patient == nil || r.patient.ID != w.appt.PatientID ||
			r.campaign == nil || r.campaign.ID != w.camp.ID || r.campaign.ClinicID != w.clinic.ID {
			t.Fatalf("read %d = %+v, want clinic %s's send, appointment, patient and campaign", i, r, w.clinic.ID)
		}
	}
	if r := got[2]; r.send == nil || r.appt != nil || r.patient != nil || r.campaign != nil {
		t.Fatalf("read of gone rows = %+v, want the send only", r)
	}
	if r := got[3]; r.send != nil || r.appt != nil || r.patient != nil || r.campaign != nil {
		t.Fatalf("read across clinics = %+v, want nothing", r)
	}
}
