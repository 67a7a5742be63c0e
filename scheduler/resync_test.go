package scheduler_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// writeGuard is a store whose transactions record every call that writes an
// appointment, a send or an audit entry (the one writer, Write, included).
type writeGuard struct {
	beckon.Store
	mu     sync.Mutex
	writes []string
}

func (g *writeGuard) InTx(ctx context.Context, fn func(q beckon.Querier) error) error {
	return g.Store.InTx(ctx, func(q beckon.Querier) error { return fn(&guardedQuerier{q, g}) })
}

func (g *writeGuard) record(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writes = append(g.writes, name)
}

type guardedQuerier struct {
	beckon.Querier
	g *writeGuard
}

func (q *guardedQuerier) AppointmentPut(ctx context.Context, a beckon.Appointment, expect int64) error {
	q.g.record("AppointmentPut")
	return q.Querier.AppointmentPut(ctx, a, expect)
}

func (q *guardedQuerier) AppointmentPutMany(ctx context.Context, as []beckon.Appointment, expect []int64) error {
	q.g.record("AppointmentPutMany")
	return q.Querier.AppointmentPutMany(ctx, as, expect)
}

func (q *guardedQuerier) SendInsert(ctx context.Context, sends []beckon.Send) error {
	q.g.record("SendInsert")
	return q.Querier.SendInsert(ctx, sends)
}

func (q *guardedQuerier) SendSupersedeMany(ctx context.Context, p beckon.SendSupersedeManyParams) (int, error) {
	q.g.record("SendSupersedeMany")
	return q.Querier.SendSupersedeMany(ctx, p)
}

func (q *guardedQuerier) AuditAppend(ctx context.Context, e beckon.AuditEntry) error {
	q.g.record("AuditAppend")
	return q.Querier.AuditAppend(ctx, e)
}

func (q *guardedQuerier) Write(ctx context.Context, w beckon.Writes) error {
	q.g.record("Write")
	return q.Querier.Write(ctx, w)
}

func (q *guardedQuerier) AuditAppendMany(ctx context.Context, es []beckon.AuditEntry) error {
	q.g.record("AuditAppendMany")
	return q.Querier.AuditAppendMany(ctx, es)
}

// An EHR re-sends its whole schedule unchanged (later, with starts in the
// clinic's zone and confirmations left out): every appointment answers
// "unchanged" at its stored version, and nothing is written — no
// appointment, send, supersession or audit entry, no version or updated_at
// moved. Runs on PostgreSQL when DATABASE_URL is set, SQLite otherwise.
func TestUnchangedBatchWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	guard := &writeGuard{Store: storetest.Open(t)}
	st := guard.Store
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	clock := beckon.NewManualClock(now)
	svc := &scheduler.Service{Store: guard, Clock: clock}
	clinic := storetest.Clinic(t, st, storetest.ClinicOpts{})
	step := func(id string, before time.Duration) beckon.Step {
		return beckon.Step{ID: id, Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -before}, Channel: beckon.ChannelSMS, Template: "appointment_reminder"}
	}
	if _, _, err := svc.PutCampaign(ctx, beckon.Campaign{ClinicID: clinic.ID, ID: "c", Name: "C", Active: true,
		Steps: []beckon.Step{step("day", 24*time.Hour), step("hours", 2*time.Hour)}}, "test"); err != nil {
		t.Fatal(err)
	}
	const patients, appointments = 5, 620 // more than one chunk of the set-at-a-time statements
	for i := range patients {
		if _, _, err := svc.UpsertPatient(ctx, beckon.Patient{ClinicID: clinic.ID, ID: fmt.Sprintf("p%d", i), FirstName: "Pat",
			Phone: fmt.Sprintf("+1415555%04d", i)}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	schedule := func(zone *time.Location, confirmation func(i int) string) []beckon.Appointment {
		var as []beckon.Appointment
		for i := range appointments {
			status := beckon.StatusBooked
			if i%50 == 7 {
				status = beckon.StatusCancelled
			}
			as = append(as, beckon.Appointment{ClinicID: clinic.ID, ID: fmt.Sprintf("a%d", i), PatientID: fmt.Sprintf("p%d", i%patients),
				Start: now.Add(72*time.Hour + time.Duration(i)*time.Minute).In(zone), Duration: 30 * time.Minute,
				Type: "follow-up", Provider: "dr-1", ProviderName: "Dr One", Location: "main", LocationName: "Main St",
				Notes: "bring a list", Status: status, Confirmation: confirmation(i)})
		}
		return as
	}
	first := schedule(time.UTC, func(i int) string {
		if i%3 == 0 {
			return beckon.Confirmed
		}
		return ""
	})
	if _, err := svc.UpsertAppointments(ctx, clinic.ID, first, "test"); err != nil {
		t.Fatal(err)
	}

	type snapshot struct {
		appts map[string]beckon.Appointment
		sends map[string][]beckon.Send
		audit map[string][]beckon.AuditEntry
	}
	take := func() snapshot {
		s := snapshot{map[string]beckon.Appointment{}, map[string][]beckon.Send{}, map[string][]beckon.AuditEntry{}}
		for _, a := range first {
			got, err := st.AppointmentGet(ctx, clinic.ID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			ss, err := st.SendListByAppointment(ctx, clinic.ID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			es, err := st.AuditList(ctx, clinic.ID, "appointment", a.ID)
			if err != nil {
				t.Fatal(err)
			}
			s.appts[a.ID], s.sends[a.ID], s.audit[a.ID] = got, ss, es
		}
		return s
	}
	before := take()
	guard.mu.Lock()
	if len(guard.writes) == 0 {
		t.Fatal("the guard saw no writes of the first batch (the test would prove nothing)")
	}
	guard.writes = nil
	guard.mu.Unlock()

	clock.Advance(time.Hour)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	again := schedule(ny, func(int) string { return "" })
	res, err := svc.UpsertAppointments(ctx, clinic.ID, again, "test")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if want := before.appts[again[i].ID]; r.Outcome != scheduler.Unchanged || r.Appointment.Version != want.Version {
			t.Fatalf("%s: %s v%d, want unchanged v%d", again[i].ID, r.Outcome, r.Appointment.Version, want.Version)
		}
	}
	if len(guard.writes) != 0 {
		t.Fatalf("an unchanged re-send wrote: %v", guard.writes)
	}
	after := take()
	for _, a := range first {
		if !reflect.DeepEqual(before.appts[a.ID], after.appts[a.ID]) {
			t.Fatalf("%s changed:\n%+v\n%+v", a.ID, before.appts[a.ID], after.appts[a.ID])
		}
		if !reflect.DeepEqual(before.sends[a.ID], after.sends[a.ID]) {
			t.Fatalf("%s: sends changed:\n%+v\n%+v", a.ID, before.sends[a.ID], after.sends[a.ID])
		}
		if !reflect.DeepEqual(before.audit[a.ID], after.audit[a.ID]) {
			t.Fatalf("%s: audit changed:\n%+v\n%+v", a.ID, before.audit[a.ID], after.audit[a.ID])
		}
	}
	if n := len(before.sends["a1"]); n != 2 {
		t.Fatalf("a1 has %d sends, want the campaign's 2 (the test would prove nothing)", n)
	}
}
