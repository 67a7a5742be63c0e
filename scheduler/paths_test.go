package scheduler_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// changePath is one entrance an appointment change comes through: how it
// books (creates, moves, cancels, re-books) an appointment and how it
// changes a patient.
type changePath struct {
	name    string
	book    func(t *testing.T, r *pathRun, a beckon.Appointment)
	patient func(t *testing.T, r *pathRun, p beckon.Patient)
}

// pathRun is one path's store, service and what it has sent so far.
type pathRun struct {
	st     beckon.Store
	svc    *scheduler.Service
	clinic string
	step   int // numbers the feed messages (their digests)
	last   beckon.Appointment
	p      beckon.Patient
}

func (r *pathRun) digest() string {
	r.step++
	return fmt.Sprintf("msg-%d", r.step)
}

// event is what an EHR feed sends for a: the whole booking with the
// patient (HL7 SIU with PID, a FHIR Appointment with its patient), or only
// the status for a cancellation (HL7 S15).
func (r *pathRun) event(a beckon.Appointment) scheduler.FeedEvent {
	if a.Status == beckon.StatusCancelled {
		return scheduler.FeedEvent{Appointment: beckon.Appointment{ID: a.ID, Status: a.Status}, Partial: true, Digest: r.digest()}
	}
	return scheduler.FeedEvent{
		Appointment: beckon.Appointment{ID: a.ID, Start: a.Start, Duration: a.Duration, Status: a.Status},
		Patient:     r.p,
		Digest:      r.digest(),
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func applyEvent(t *testing.T, r *pathRun, ev scheduler.FeedEvent) {
	t.Helper()
	_, err := r.svc.ApplyEvent(t.Context(), r.clinic, ev, "ehr")
	must(t, "hl7 "+ev.Digest, err)
}

func applyFeedBatch(t *testing.T, r *pathRun, ev scheduler.FeedEvent) {
	t.Helper()
	out, err := r.svc.ApplyFeedBatch(t.Context(), scheduler.FeedBatch{ClinicID: r.clinic, Events: []scheduler.FeedEvent{ev}, Actor: "ehr"})
	must(t, "group commit "+ev.Digest, err)
	must(t, "group commit event "+ev.Digest, out[0].Err)
}

func changePaths() []changePath {
	restPatient := func(t *testing.T, r *pathRun, p beckon.Patient) {
		_, _, err := r.svc.UpsertPatient(t.Context(), p, "staff")
		must(t, "patient", err)
	}
	// An HL7 feed has no patient-only message here: the patient's news
	// comes with the appointment sent again.
	hl7Patient := func(apply func(*testing.T, *pathRun, scheduler.FeedEvent)) func(*testing.T, *pathRun, beckon.Patient) {
		return func(t *testing.T, r *pathRun, p beckon.Patient) { apply(t, r, r.event(r.last)) }
	}
	return []changePath{{
		name: "REST single",
		book: func(t *testing.T, r *pathRun, a beckon.Appointment) {
			_, err := r.svc.UpsertAppointment(t.Context(), a, "staff")
			must(t, "upsert", err)
		},
		patient: restPatient,
	}, {
		name: "REST batch",
		book: func(t *testing.T, r *pathRun, a beckon.Appointment) {
			_, err := r.svc.UpsertAppointments(t.Context(), r.clinic, []beckon.Appointment{a}, "staff")
			must(t, "batch", err)
		},
		patient: restPatient,
	}, {
		name: "FHIR",
		book: func(t *testing.T, r *pathRun, a beckon.Appointment) {
			ev := r.event(a)
			_, err := r.svc.ApplyEvents(t.Context(), r.clinic, []scheduler.FeedStep{{Event: &ev}}, "ehr")
			must(t, "fhir "+ev.Digest, err)
		},
		patient: func(t *testing.T, r *pathRun, p beckon.Patient) {
			_, err := r.svc.ApplyEvents(t.Context(), r.clinic, []scheduler.FeedStep{{Patient: &p}}, "ehr")
			must(t, "fhir patient", err)
		},
	}, {
		name:    "HL7 single",
		book:    func(t *testing.T, r *pathRun, a beckon.Appointment) { applyEvent(t, r, r.event(a)) },
		patient: hl7Patient(applyEvent),
	}, {
		name:    "HL7 group commit",
		book:    func(t *testing.T, r *pathRun, a beckon.Appointment) { applyFeedBatch(t, r, r.event(a)) },
		patient: hl7Patient(applyFeedBatch),
	}}
}

// runStory feeds one sequence of changes through path: a booking, a move,
// the patient's time zone moving (re-planned), a campaign gaining a step
// (re-planned), a cancellation, a re-booking and a confirmation; it returns
// every send as stored.
func runStory(t *testing.T, st beckon.Store, path changePath) []string {
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	clinic := storetest.Clinic(t, st, storetest.ClinicOpts{ID: "cln_paths"})
	campaign := storetest.Campaign(t, st, clinic.ID, storetest.CampaignOpts{ID: "cmp_paths"})
	r := &pathRun{st: st, clinic: clinic.ID, svc: &scheduler.Service{Store: st, Clock: beckon.NewManualClock(now)},
		p: beckon.Patient{ClinicID: clinic.ID, ID: "MRN-1", FirstName: "Ana", Phone: "+14155550123", Language: "en"}}
	if path.name == "REST single" || path.name == "REST batch" {
		path.patient(t, r, r.p) // REST sends the patient first
	}
	book := func(a beckon.Appointment) {
		path.book(t, r, a)
		r.last = a
	}
	a := beckon.Appointment{ClinicID: clinic.ID, ID: "A-1", PatientID: "MRN-1", Start: now.Add(72 * time.Hour),
		Duration: 30 * time.Minute, Status: beckon.StatusBooked}
	book(a) // create
	a.Start = now.Add(96*time.Hour + 30*time.Minute)
	book(a) // move
	r.p.TimeZone = "Asia/Tokyo"
	path.patient(t, r, r.p) // time zone change: re-planned in Tokyo's quiet hours
	campaign.Steps = append(campaign.Steps, beckon.Step{ID: "remind-2h",
		Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -2 * time.Hour}, Channel: beckon.ChannelSMS, Template: "reminder"})
	_, _, err := r.svc.PutCampaign(ctx, campaign, "staff")
	must(t, "campaign", err)
	cancelled := a
	cancelled.Status = beckon.StatusCancelled
	book(cancelled)
	a.Start = now.Add(120 * time.Hour)
	book(a) // re-book
	_, err = r.svc.Confirm(ctx, beckon.Confirmation{ClinicID: clinic.ID, AppointmentID: "A-1", Response: beckon.Confirmed,
		By: "patient", Method: "sms", Actor: "patient"})
	must(t, "confirm", err)

	sends, err := st.SendListByAppointment(ctx, clinic.ID, "A-1")
	must(t, "sends", err)
	var out []string
	for _, s := range sends {
		out = append(out, fmt.Sprintf("%s %s v%d due %s %s %q", s.ID, s.StepID, s.AppointmentVersion,
			s.DueAt.UTC().Format(time.RFC3339), s.Status, s.Reason))
	}
	slices.Sort(out)
	return out
}

// TestEveryPathMakesTheSameSends: the same sequence of changes through REST
// single, REST batch, FHIR, HL7 single and HL7 group commit (with the
// re-planning a time-zone and a campaign change cause) leaves the same
// sends: ids, due times, statuses, superseded reasons. On SQLite, and on
// PostgreSQL when DATABASE_URL is set.
func TestEveryPathMakesTheSameSends(t *testing.T) {
	t.Parallel()
	dialects := map[string]func(t testing.TB) beckon.Store{"sqlite": storetest.OpenSQLite}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		dialects["postgres"] = func(t testing.TB) beckon.Store { return storetest.OpenPostgres(t, u) }
	}
	for dialect, open := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			paths := changePaths()
			got := make([][]string, len(paths))
			for i, path := range paths {
				got[i] = runStory(t, open(t), path)
			}
			want := strings.Join(got[0], "\n")
			// The story leaves sends of every kind: superseded by a move,
			// a cancellation and a confirmation, and planned ones.
			for _, kind := range []string{`superseded "appointment changed"`, `superseded "appointment cancelled"`, " planned ", "remind-2h"} {
				if !strings.Contains(want, kind) {
					t.Fatalf("%s left no %s send:\n%s", paths[0].name, kind, want)
				}
			}
			for i, path := range paths[1:] {
				if g := strings.Join(got[i+1], "\n"); g != want {
					t.Errorf("%s differs from %s:\n got\n%s\nwant\n%s", path.name, paths[0].name, g, want)
				}
			}
		})
	}
}
