package scheduler_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
)

// decideNow is the instant every Decide test decides at.
var decideNow = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

// decideState is a clinic with one two-step SMS campaign, patient P-1 (in
// the clinic's zone) and A-1 booked for P-1 in three days, at version 1.
func decideState() *scheduler.State {
	clinic := beckon.Clinic{ID: "c1", Name: "Clinic", TimeZone: "America/New_York"}
	step := func(id string, before time.Duration) beckon.Step {
		return beckon.Step{ID: id, Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -before}, Channel: beckon.ChannelSMS, Template: "reminder"}
	}
	return &scheduler.State{
		Clinic: clinic,
		Campaigns: []beckon.Campaign{{ClinicID: "c1", ID: "cmp-1", Name: "Reminders", Active: true, Revision: 1,
			Steps: []beckon.Step{step("remind-24h", 24*time.Hour), step("remind-2h", 2*time.Hour)}}},
		Patients: map[string]beckon.Patient{"P-1": {ClinicID: "c1", ID: "P-1", FirstName: "Ana", Phone: "+14155550123",
			Language: "en", SMSConsent: beckon.ConsentUnknown, EmailConsent: beckon.ConsentUnknown}},
		Appointments: map[string]beckon.Appointment{"A-1": decideAppointment("A-1", 1, decideNow.Add(72*time.Hour))},
		FeedStates:   map[string]beckon.FeedState{},
	}
}

func decideAppointment(id string, version int64, start time.Time) beckon.Appointment {
	return beckon.Appointment{ClinicID: "c1", ID: id, PatientID: "P-1", Start: start, Duration: 30 * time.Minute,
		Status: beckon.StatusBooked, Confirmation: beckon.Unconfirmed, Version: version}
}

// writesKey is what a decision writes, in a form a table can state.
func writesKey(w beckon.Writes) string {
	var parts []string
	for _, p := range w.Patients {
		parts = append(parts, fmt.Sprintf("patient %s tz=%q", p.ID, p.TimeZone))
	}
	for _, a := range w.Appointments {
		parts = append(parts, fmt.Sprintf("appointment %s v%d %s %s", a.ID, a.Version, a.Status, a.Confirmation))
	}
	for _, s := range w.Sends {
		parts = append(parts, fmt.Sprintf("send %s/%s v%d %s due %s", s.AppointmentID, s.StepID, s.AppointmentVersion, s.Status,
			s.DueAt.UTC().Format("01-02T15:04")))
	}
	for _, s := range w.Supersede {
		parts = append(parts, fmt.Sprintf("supersede %v: %s", s.AppointmentIDs, s.Reason))
	}
	for _, f := range w.FeedStates {
		parts = append(parts, fmt.Sprintf("feed %s %s tomb=%v", f.AppointmentID, f.Digest, f.Tombstone))
	}
	for _, c := range w.Confirmations {
		parts = append(parts, fmt.Sprintf("confirmation %s %s v%d", c.AppointmentID, c.Response, c.AppointmentVersion))
	}
	for _, wb := range w.Writebacks {
		parts = append(parts, fmt.Sprintf("writeback %s %s %s", wb.ID, wb.Kind, wb.ConfirmationID))
	}
	var audits []string
	for _, a := range w.Audits {
		audits = append(audits, a.Action+" "+a.EntityID)
	}
	parts = append(parts, fmt.Sprintf("audit %v", audits))
	return fmt.Sprint(parts)
}

func TestDecide(t *testing.T) {
	t.Parallel()
	start := decideNow.Add(72 * time.Hour)
	moved := decideAppointment("A-1", 0, start.Add(24*time.Hour))
	cancelled := decideAppointment("A-1", 0, start)
	cancelled.Status = beckon.StatusCancelled
	fresh := decideAppointment("A-2", 0, start)
	fresh.Confirmation = ""
	stranger := decideAppointment("A-3", 0, start)
	stranger.PatientID = "P-9"
	paris := beckon.Patient{ID: "P-1", FirstName: "Ana", Phone: "+14155550123", Language: "en", TimeZone: "Europe/Paris"}
	confirm := scheduler.ConfirmChange{WritebackID: "wbk_1", Confirmation: beckon.Confirmation{ID: "cnf_1", ClinicID: "c1",
		AppointmentID: "A-1", Response: beckon.Confirmed, By: "patient", Method: "sms"}}

	tests := []struct {
		name     string
		changes  []scheduler.Change
		settings *beckon.FeedSettings
		outcome  string // of the last change
		err      error  // of the last change
		moved    []string
		writes   string
	}{{
		name:    "a new appointment is created at version 1 and planned",
		changes: []scheduler.Change{{Appointment: &fresh}},
		outcome: scheduler.Created,
		writes: "[appointment A-2 v1 booked unconfirmed send A-2/remind-24h v1 planned due 03-04T15:00 " +
			"send A-2/remind-2h v1 planned due 03-05T13:00 audit [appointment.created A-2]]",
	}, {
		name:    "the same appointment again writes nothing",
		changes: []scheduler.Change{{Appointment: new(decideAppointment("A-1", 0, start))}},
		outcome: scheduler.Unchanged,
		writes:  "[audit []]",
	}, {
		name:    "a move writes the next version and supersedes the older sends",
		changes: []scheduler.Change{{Appointment: &moved}},
		outcome: scheduler.Updated,
		writes: "[appointment A-1 v2 booked unconfirmed send A-1/remind-24h v2 planned due 03-05T15:00 " +
			"send A-1/remind-2h v2 planned due 03-06T13:00 supersede [A-1]: appointment changed audit [appointment.updated A-1]]",
	}, {
		name:    "a cancellation plans nothing and says why the sends stop",
		changes: []scheduler.Change{{Appointment: &cancelled}},
		outcome: scheduler.Updated,
		writes:  "[appointment A-1 v2 cancelled unconfirmed supersede [A-1]: appointment cancelled audit [appointment.updated A-1]]",
	}, {
		name:    "an unknown patient fails the change and writes nothing",
		changes: []scheduler.Change{{Appointment: &stranger}},
		err:     scheduler.ErrUnknownPatient,
		writes:  "[audit []]",
	}, {
		name: "an incomplete event writes nothing, not even the patient it carries",
		changes: []scheduler.Change{{Event: &scheduler.FeedEvent{
			Appointment: beckon.Appointment{ID: "A-8"},
			Digest:      "d8",
			Patient:     beckon.Patient{ID: "P-8", Phone: "+14155550188"},
		}}},
		err:    scheduler.ErrIncompleteEvent,
		writes: "[audit []]",
	}, {
		name: "a cancellation of an unknown appointment leaves a tombstone",
		changes: []scheduler.Change{{Event: &scheduler.FeedEvent{
			Appointment: beckon.Appointment{ID: "A-7", Status: beckon.StatusCancelled},
			Partial:     true,
			Digest:      "s15",
		}}},
		writes: "[feed A-7 s15 tomb=true audit [appointment.tombstone A-7]]",
	}, {
		name: "a message applied twice is a duplicate the second time",
		changes: []scheduler.Change{
			{Event: &scheduler.FeedEvent{Appointment: beckon.Appointment{ID: "A-7", Status: beckon.StatusCancelled}, Partial: true, Digest: "s15"}},
			{Event: &scheduler.FeedEvent{Appointment: beckon.Appointment{ID: "A-6", Status: beckon.StatusCancelled}, Partial: true, Digest: "s15-6"}},
			{Event: &scheduler.FeedEvent{Appointment: beckon.Appointment{ID: "A-7", Status: beckon.StatusCancelled}, Partial: true, Digest: "s15"}},
		},
		writes: "[feed A-6 s15-6 tomb=true feed A-7 s15 tomb=true audit [appointment.tombstone A-7 appointment.tombstone A-6]]",
	}, {
		name:    "a patient's new time zone asks for their upcoming appointments",
		changes: []scheduler.Change{{Patient: &paris}},
		outcome: scheduler.Updated,
		moved:   []string{"P-1"},
		writes:  `[patient P-1 tz="Europe/Paris" audit [patient.updated P-1]]`,
	}, {
		name:    "re-planning in a new time zone moves the due times and supersedes the rest",
		changes: []scheduler.Change{{Patient: &paris}, {Replan: new(decideAppointment("A-1", 1, start))}},
		outcome: scheduler.Unchanged,
		moved:   []string{"P-1"},
		writes: `[patient P-1 tz="Europe/Paris" send A-1/remind-24h v1 planned due 03-04T15:00 ` +
			`send A-1/remind-2h v1 planned due 03-05T13:00 supersede [A-1]: appointment changed audit [patient.updated P-1]]`,
	}, {
		name:     "a confirmation records its appointment version and a write-back",
		changes:  []scheduler.Change{{Confirm: &confirm}},
		settings: &beckon.FeedSettings{ClinicID: "c1", Writeback: true, WebhookURL: "https://ehr.example/hook"},
		outcome:  scheduler.Updated,
		writes: "[appointment A-1 v2 booked confirmed send A-1/remind-24h v2 planned due 03-04T15:00 " +
			"send A-1/remind-2h v2 planned due 03-05T13:00 supersede [A-1]: appointment changed " +
			"confirmation A-1 confirmed v2 writeback wbk_1 webhook cnf_1 audit [appointment.updated A-1]]",
	}, {
		name:    "a confirmation of an unknown appointment is not found",
		changes: []scheduler.Change{{Confirm: &scheduler.ConfirmChange{Confirmation: beckon.Confirmation{AppointmentID: "A-404"}}}},
		err:     beckon.ErrNotFound,
		writes:  "[audit []]",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := decideState()
			st.FeedSettings = tt.settings
			d := scheduler.Decide(st, decideNow, "test", tt.changes)
			last := d.Outcomes[len(d.Outcomes)-1]
			if !errors.Is(last.Err, tt.err) || (tt.err == nil && last.Err != nil) {
				t.Fatalf("err %v, want %v", last.Err, tt.err)
			}
			if last.Outcome != tt.outcome {
				t.Errorf("outcome %q, want %q", last.Outcome, tt.outcome)
			}
			if !slices.Equal(d.ZoneMoved, tt.moved) {
				t.Errorf("zone moved %v, want %v", d.ZoneMoved, tt.moved)
			}
			if got := writesKey(d.Writes()); got != tt.writes {
				t.Errorf("writes\n got %s\nwant %s", got, tt.writes)
			}
		})
	}
}

// Deciding is a function of its input: the same state, instant and changes
// give the same writes.
func TestDecideIsPure(t *testing.T) {
	t.Parallel()
	a := decideAppointment("A-1", 0, decideNow.Add(96*time.Hour))
	changes := []scheduler.Change{{Appointment: &a}}
	first := writesKey(scheduler.Decide(decideState(), decideNow, "test", changes).Writes())
	second := writesKey(scheduler.Decide(decideState(), decideNow, "test", changes).Writes())
	if first != second {
		t.Fatalf("two decisions differ:\n%s\n%s", first, second)
	}
}

// Rounds never hold an appointment twice.
func TestRounds(t *testing.T) {
	t.Parallel()
	appt := func(id string) scheduler.Change { return scheduler.Change{Appointment: &beckon.Appointment{ID: id}} }
	patient := scheduler.Change{Patient: &beckon.Patient{ID: "P-1"}}
	tests := []struct {
		changes []scheduler.Change
		max     int
		want    [][2]int
	}{
		{[]scheduler.Change{appt("A"), appt("B"), appt("C")}, 0, [][2]int{{0, 3}}},
		{[]scheduler.Change{appt("A"), appt("B"), appt("A"), appt("C")}, 0, [][2]int{{0, 2}, {2, 4}}},
		{[]scheduler.Change{appt("A"), patient, patient, appt("B")}, 0, [][2]int{{0, 4}}},
		{[]scheduler.Change{appt("A"), appt("B"), appt("C")}, 2, [][2]int{{0, 2}, {2, 3}}},
	}
	for i, tt := range tests {
		if got := scheduler.Rounds(tt.changes, tt.max); !slices.Equal(got, tt.want) {
			t.Errorf("%d: rounds %v, want %v", i, got, tt.want)
		}
	}
}

// BenchmarkDecide decides a REST batch of 1,000 new appointments (the
// bench's ingest batch) for 1,000 patients and builds its writes.
func BenchmarkDecide(b *testing.B) {
	base := decideState()
	for i := range 1000 {
		id := fmt.Sprintf("P-%d", i)
		p := base.Patients["P-1"]
		p.ID = id
		base.Patients[id] = p
	}
	changes := make([]scheduler.Change, 1000)
	for i := range changes {
		a := decideAppointment(fmt.Sprintf("B-%d", i), 0, decideNow.Add(72*time.Hour+time.Duration(i)*time.Minute))
		a.PatientID = fmt.Sprintf("P-%d", i)
		changes[i] = scheduler.Change{Appointment: &a}
	}
	b.ReportAllocs()
	for b.Loop() {
		st := *base
		st.Appointments = map[string]beckon.Appointment{}
		st.Patients = maps.Clone(base.Patients)
		d := scheduler.Decide(&st, decideNow, "bench", changes)
		if w := d.Writes(); len(w.Sends) != 2000 {
			b.Fatalf("%d sends, want 2000", len(w.Sends))
		}
	}
}
