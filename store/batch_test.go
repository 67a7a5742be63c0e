package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestBatch(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		appt := func(b *bundle, id string, version int64) beckon.Appointment {
			return beckon.Appointment{
				ClinicID: b.clinic.ID, ID: id, PatientID: "p1", Start: b.now.Add(time.Hour),
				Duration: 30 * time.Minute, Status: beckon.StatusBooked, Confirmation: beckon.Unconfirmed,
				Version: version, CreatedAt: b.now, UpdatedAt: b.now,
			}
		}
		t.Run("PutManyAndGetMany", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var as []beckon.Appointment
			var expect []int64
			for i := range 600 { // more than one chunk
				as = append(as, appt(b, fmt.Sprintf("a%d", i), 1))
				expect = append(expect, 0)
			}
			noErr(t, "put many", b.st.AppointmentPutMany(b.ctx, as, expect))
			got, err := b.st.AppointmentGetMany(b.ctx, b.clinic.ID, []string{"a0", "a599", "missing"})
			noErr(t, "get many", err)
			if len(got) != 2 {
				t.Fatalf("got %d appointments, want 2", len(got))
			}
			equal(t, "a599", got["a599"], as[599])
			// An update at the right version applies; one at a stale version
			// is a conflict and, in a transaction, nothing is written.
			up := appt(b, "a1", 2)
			up.Type = "changed"
			noErr(t, "update", b.st.AppointmentPutMany(b.ctx, []beckon.Appointment{up}, []int64{1}))
			stale := appt(b, "a2", 2)
			stale.Type = "stale"
			again := appt(b, "a1", 2)
			err = b.st.InTx(b.ctx, func(q beckon.Querier) error {
				return q.AppointmentPutMany(b.ctx, []beckon.Appointment{stale, again}, []int64{1, 1})
			})
			if !errors.Is(err, beckon.ErrConflict) {
				t.Fatalf("stale put many: %v, want ErrConflict", err)
			}
			a2, err := b.st.AppointmentGet(b.ctx, b.clinic.ID, "a2")
			noErr(t, "get a2", err)
			if a2.Type == "stale" || a2.Version != 1 {
				t.Fatalf("a conflicting batch wrote a2: %+v", a2)
			}
			// Another clinic does not see them.
			other := storetest.Clinic(t, b.st, storetest.ClinicOpts{ID: "cln_b"})
			got, err = b.st.AppointmentGetMany(b.ctx, other.ID, []string{"a0"})
			noErr(t, "get many other clinic", err)
			if len(got) != 0 {
				t.Fatalf("clinic B read clinic A's appointments: %v", got)
			}
		})
		t.Run("PatientGetMany", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{ID: "p1"})
			storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{ID: "p2"})
			got, err := b.st.PatientGetMany(b.ctx, b.clinic.ID, []string{"p1", "p2", "p3"})
			noErr(t, "get many", err)
			if len(got) != 2 || got["p2"].ID != "p2" {
				t.Fatalf("got %v, want p1 and p2", got)
			}
		})
		t.Run("SendSupersedeMany", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			mk := func(id, appt string, status beckon.SendStatus) {
				storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: id, AppointmentID: appt, Status: status})
			}
			mk("s1", "a1", beckon.SendPlanned)
			mk("s2", "a1", beckon.SendPlanned) // kept
			mk("s3", "a2", beckon.SendPlanned)
			mk("s4", "a2", beckon.SendSent)    // not planned: untouched
			mk("s5", "a3", beckon.SendPlanned) // another appointment: untouched
			n, err := b.st.SendSupersedeMany(b.ctx, beckon.SendSupersedeManyParams{
				ClinicID: b.clinic.ID, AppointmentIDs: []string{"a1", "a2"}, Keep: []string{"s2"},
				Reason: "appointment changed", Now: b.now,
			})
			noErr(t, "supersede many", err)
			if n != 2 {
				t.Fatalf("superseded %d, want 2", n)
			}
			want := map[string]beckon.SendStatus{"s1": beckon.SendSuperseded, "s2": beckon.SendPlanned, "s3": beckon.SendSuperseded, "s4": beckon.SendSent, "s5": beckon.SendPlanned}
			for id, status := range want {
				s, err := b.st.SendGet(b.ctx, b.clinic.ID, id)
				noErr(t, "get "+id, err)
				if s.Status != status {
					t.Fatalf("%s is %s, want %s", id, s.Status, status)
				}
				if status == beckon.SendSuperseded && s.Reason != "appointment changed" {
					t.Fatalf("%s reason %q", id, s.Reason)
				}
			}
		})
		t.Run("AuditAppendMany", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var es []beckon.AuditEntry
			for i := range 3 {
				es = append(es, beckon.AuditEntry{ClinicID: b.clinic.ID, Actor: "test", Action: "appointment.created", Entity: "appointment", EntityID: fmt.Sprintf("a%d", i), At: b.now})
			}
			noErr(t, "append many", b.st.AuditAppendMany(b.ctx, es))
			got, err := b.st.AuditList(b.ctx, b.clinic.ID, "appointment", "")
			noErr(t, "list", err)
			if len(got) != 3 || got[0].ID == "" {
				t.Fatalf("audit %+v, want 3 entries with ids", got)
			}
		})
	})
}
