package scheduler_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// A campaign change re-plans every upcoming appointment of the clinic — more
// than one round of the set-at-a-time re-planning — in the transaction that
// stores the campaign: each gets the new steps' sends, its old planned sends
// are superseded, and past appointments and sent sends are left alone.
func TestCampaignChangeReplansEveryUpcomingAppointment(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := storetest.Open(t)
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	clock := beckon.NewManualClock(now)
	svc := &scheduler.Service{Store: st, Clock: clock}
	clinic := storetest.Clinic(t, st, storetest.ClinicOpts{})
	step := func(id string, before time.Duration) beckon.Step {
		return beckon.Step{ID: id, Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -before}, Channel: beckon.ChannelSMS, Template: "appointment_reminder"}
	}
	if _, _, err := svc.PutCampaign(ctx, beckon.Campaign{ClinicID: clinic.ID, ID: "c", Name: "C", Active: true, Steps: []beckon.Step{step("day", 24*time.Hour)}}, "test"); err != nil {
		t.Fatal(err)
	}
	const patients, upcoming = 7, 1203
	for i := range patients {
		if _, _, err := svc.UpsertPatient(ctx, beckon.Patient{ClinicID: clinic.ID, ID: fmt.Sprintf("p%d", i), FirstName: "Pat", Phone: fmt.Sprintf("+1415555%04d", i)}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	var as []beckon.Appointment
	for i := range upcoming {
		as = append(as, beckon.Appointment{ID: fmt.Sprintf("a%d", i), PatientID: fmt.Sprintf("p%d", i%patients),
			Start: now.Add(72*time.Hour + time.Duration(i)*time.Minute), Duration: 30 * time.Minute, Status: beckon.StatusBooked})
	}
	// And one that started an hour ago.
	as = append(as, beckon.Appointment{ID: "past", PatientID: "p0", Start: now.Add(-time.Hour), Duration: 30 * time.Minute, Status: beckon.StatusBooked})
	if _, err := svc.UpsertAppointments(ctx, clinic.ID, as, "test"); err != nil {
		t.Fatal(err)
	}
	pastBefore, err := st.SendListByAppointment(ctx, clinic.ID, "past")
	if err != nil {
		t.Fatal(err)
	}

	if _, outcome, err := svc.PutCampaign(ctx, beckon.Campaign{ClinicID: clinic.ID, ID: "c", Name: "C", Active: true,
		Steps: []beckon.Step{step("two-days", 48*time.Hour), step("two-hours", 2*time.Hour)}}, "test"); err != nil || outcome != scheduler.Updated {
		t.Fatalf("change campaign: %v (%s)", err, outcome)
	}

	for i := range upcoming {
		id := fmt.Sprintf("a%d", i)
		ss, err := st.SendListByAppointment(ctx, clinic.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		byStep := map[string]beckon.Send{}
		for _, s := range ss {
			byStep[s.StepID] = s
		}
		if len(ss) != 3 || byStep["day"].Status != beckon.SendSuperseded ||
			byStep["two-days"].Status != beckon.SendPlanned || byStep["two-hours"].Status != beckon.SendPlanned ||
			byStep["two-days"].CampaignRevision != 2 {
			t.Fatalf("%s: sends %+v; want the old step superseded and both new steps planned at revision 2", id, ss)
		}
	}
	past, err := st.SendListByAppointment(ctx, clinic.ID, "past")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(past) != fmt.Sprint(pastBefore) {
		t.Fatalf("past appointment's sends changed:\n%+v\n%+v", pastBefore, past)
	}
}
