package scheduler_test

import (
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// An appointment of a batch naming a patient the clinic has not sent fails
// the batch with an *ItemError giving its index and field; nothing is
// applied. A single appointment's error is the reason itself.
func TestUpsertAppointmentsItemError(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := storetest.Open(t)
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	svc := &scheduler.Service{Store: st, Clock: beckon.NewManualClock(now)}
	clinic := storetest.Clinic(t, st, storetest.ClinicOpts{})
	if _, _, err := svc.UpsertPatient(ctx, beckon.Patient{ClinicID: clinic.ID, ID: "p1", FirstName: "Pat", Phone: "+14155550100"}, "test"); err != nil {
		t.Fatal(err)
	}
	appt := func(id, patient string) beckon.Appointment {
		return beckon.Appointment{ClinicID: clinic.ID, ID: id, PatientID: patient,
			Start: now.Add(72 * time.Hour), Duration: 30 * time.Minute, Status: beckon.StatusBooked}
	}

	for _, tc := range []struct {
		name  string
		batch []beckon.Appointment
		index int
	}{
		{"second of three", []beckon.Appointment{appt("a1", "p1"), appt("a2", "nobody"), appt("a3", "p1")}, 1},
		{"one", []beckon.Appointment{appt("a1", "nobody")}, 0},
	} {
		_, err := svc.UpsertAppointments(ctx, clinic.ID, tc.batch, "test")
		var item *scheduler.ItemError
		if !errors.As(err, &item) || item.Index != tc.index || item.Field != "patient_id" || !errors.Is(err, scheduler.ErrUnknownPatient) {
			t.Fatalf("%s: err %v, want item %d patient_id ErrUnknownPatient", tc.name, err, tc.index)
		}
		if _, err := st.AppointmentGet(ctx, clinic.ID, "a1"); !errors.Is(err, beckon.ErrNotFound) {
			t.Fatalf("%s: a1 applied by a failed batch: %v", tc.name, err)
		}
	}

	_, err := svc.UpsertAppointment(ctx, appt("a1", "nobody"), "test")
	var item *scheduler.ItemError
	if !errors.Is(err, scheduler.ErrUnknownPatient) || errors.As(err, &item) {
		t.Fatalf("single: err %v, want ErrUnknownPatient and no item", err)
	}
}
