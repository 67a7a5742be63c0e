package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestAppointments(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := beckon.Appointment{
				ClinicID:     b.clinic.ID,
				ID:           "A-100",
				PatientID:    "MRN-1",
				Start:        b.now.Add(72 * time.Hour),
				Duration:     45 * time.Minute,
				Type:         "new-patient",
				Provider:     "dr-lee",
				ProviderName: "Dr. Ana Lee",
				Location:     "main",
				LocationName: "Main Street Clinic",
				Notes:        "Bring your insulin pump.\nPark at the back: ramp é.",
				Status:       beckon.StatusBooked,
				Confirmation: beckon.Confirmed,
				Version:      3,
				CreatedAt:    b.now,
				UpdatedAt:    b.now.Add(time.Second),
			}
			noErr(t, "put", b.st.AppointmentPut(b.ctx, want, 0))
			got, err := b.st.AppointmentGet(b.ctx, b.clinic.ID, "A-100")
			noErr(t, "get", err)
			equal(t, "appointment", got, want)
		})
		t.Run("ZeroStart", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := beckon.Appointment{
				ClinicID:  b.clinic.ID,
				ID:        "A-0",
				Version:   1,
				CreatedAt: b.now,
				UpdatedAt: b.now,
			}
			noErr(t, "put", b.st.AppointmentPut(b.ctx, want, 0))
			got, err := b.st.AppointmentGet(b.ctx, b.clinic.ID, "A-0")
			noErr(t, "get", err)
			equal(t, "appointment", got, want)
		})
		t.Run("Versions", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			a := storetest.Appointment(t, b.st, b.clinic.ID, storetest.AppointmentOpts{
				Start: b.now.Add(time.Hour),
			})
			isErr(t, "create again", b.st.AppointmentPut(b.ctx, a, 0), beckon.ErrConflict)

			next := a
			next.Version = 2
			next.Status = beckon.StatusCancelled
			next.ProviderName, next.LocationName, next.Notes = "Dr. Bo Kim", "Annex", "Fasting"
			next.Start = b.now.Add(2 * time.Hour)
			next.UpdatedAt = b.now
			next.CreatedAt = b.now.Add(time.Hour) // ignored on update
			isErr(t, "wrong version", b.st.AppointmentPut(b.ctx, next, 5), beckon.ErrConflict)
			noErr(t, "update", b.st.AppointmentPut(b.ctx, next, 1))
			isErr(t, "stale version", b.st.AppointmentPut(b.ctx, next, 1), beckon.ErrConflict)

			got, err := b.st.AppointmentGet(b.ctx, b.clinic.ID, a.ID)
			noErr(t, "get", err)
			next.CreatedAt = a.CreatedAt
			equal(t, "appointment", got, next)

			missing := a
			missing.ID = "nope"
			isErr(t, "update missing", b.st.AppointmentPut(b.ctx, missing, 1), beckon.ErrConflict)
		})
		t.Run("NamesEveryPath", func(t *testing.T) {
			// Names and notes survive every way an appointment is written
			// and read: one at a time, many at a time, the feeds' batch
			// write (one statement on PostgreSQL) and read (one UNION).
			t.Parallel()
			b := setup(t)
			p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{})
			named := func(id string, v int64, suffix string) beckon.Appointment {
				return beckon.Appointment{
					ClinicID: b.clinic.ID, ID: id, PatientID: p.ID, Start: b.now.Add(time.Hour), Duration: 30 * time.Minute,
					Provider: "777", ProviderName: "Dr. Ana Rivera" + suffix,
					Location: "MAIN", LocationName: "Main Street Clinic" + suffix,
					Notes:  "Bring your list of medicines." + suffix,
					Status: beckon.StatusBooked, Confirmation: beckon.Unconfirmed, Version: v,
					CreatedAt: b.now, UpdatedAt: b.now,
				}
			}
			check := func(what string, want beckon.Appointment) {
				t.Helper()
				got, err := b.st.AppointmentGet(b.ctx, b.clinic.ID, want.ID)
				noErr(t, what, err)
				equal(t, what, got, want)
				many, err := b.st.AppointmentGetMany(b.ctx, b.clinic.ID, []string{want.ID})
				noErr(t, what+" get many", err)
				equal(t, what+" get many", many[want.ID], want)
				read, err := b.st.FeedReadMany(b.ctx, b.clinic.ID, []string{want.ID}, []string{p.ID})
				noErr(t, what+" feed read", err)
				equal(t, what+" feed read", read.Appointments[want.ID], want)
				list, err := b.st.AppointmentListUpcoming(b.ctx, beckon.AppointmentListParams{ClinicID: b.clinic.ID, PatientID: p.ID, After: b.now})
				noErr(t, what+" list", err)
				for _, a := range list {
					if a.ID == want.ID {
						equal(t, what+" list", a, want)
					}
				}
			}

			one := named("put-1", 1, "")
			noErr(t, "put", b.st.AppointmentPut(b.ctx, one, 0))
			check("put", one)
			one2 := named("put-1", 2, " (moved)")
			noErr(t, "put update", b.st.AppointmentPut(b.ctx, one2, 1))
			check("put update", one2)

			many := named("many-1", 1, "")
			noErr(t, "put many", b.st.AppointmentPutMany(b.ctx, []beckon.Appointment{many}, []int64{0}))
			check("put many", many)
			many2 := named("many-1", 2, " 2")
			noErr(t, "put many update", b.st.AppointmentPutMany(b.ctx, []beckon.Appointment{many2}, []int64{1}))
			check("put many update", many2)

			feed := named("feed-1", 1, "")
			noErr(t, "feed write", b.st.Write(b.ctx, beckon.Writes{ClinicID: b.clinic.ID, Appointments: []beckon.Appointment{feed}, Now: b.now}))
			check("feed write", feed)
			feed2 := named("feed-1", 2, " 2")
			noErr(t, "feed write update", b.st.Write(b.ctx, beckon.Writes{ClinicID: b.clinic.ID, Appointments: []beckon.Appointment{feed2}, Now: b.now}))
			check("feed write update", feed2)
		})
		t.Run("Missing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.AppointmentGet(b.ctx, b.clinic.ID, "nope")
			isErr(t, "get", err, beckon.ErrNotFound)
		})
		t.Run("ListUpcoming", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			mk := func(clinicID, id, patientID string, start time.Duration) {
				storetest.Appointment(t, b.st, clinicID, storetest.AppointmentOpts{
					ID:        id,
					PatientID: patientID,
					Start:     b.now.Add(start),
				})
			}
			mk(b.clinic.ID, "past", "p1", -time.Hour)
			mk(b.clinic.ID, "at-from", "p1", 0)
			mk(b.clinic.ID, "c", "p1", 3*time.Hour)
			mk(b.clinic.ID, "a", "p2", 1*time.Hour)
			mk(b.clinic.ID, "b", "p1", 2*time.Hour)
			mk(other.ID, "other", "p1", 90*time.Minute)

			apptIDs := func(as []beckon.Appointment) []string {
				return ids(as, func(a beckon.Appointment) string { return a.ID })
			}
			got, err := b.st.AppointmentListUpcoming(b.ctx, beckon.AppointmentListParams{
				ClinicID: b.clinic.ID,
				After:    b.now,
			})
			noErr(t, "list", err)
			equal(t, "all", apptIDs(got), []string{"a", "b", "c"})

			got, err = b.st.AppointmentListUpcoming(b.ctx, beckon.AppointmentListParams{
				ClinicID:  b.clinic.ID,
				PatientID: "p1",
				After:     b.now,
			})
			noErr(t, "list", err)
			equal(t, "patient p1", apptIDs(got), []string{"b", "c"})

			got, err = b.st.AppointmentListUpcoming(b.ctx, beckon.AppointmentListParams{
				ClinicID: b.clinic.ID,
				After:    b.now,
				Limit:    2,
			})
			noErr(t, "list", err)
			equal(t, "limit", apptIDs(got), []string{"a", "b"})

			got, err = b.st.AppointmentListUpcoming(b.ctx, beckon.AppointmentListParams{
				ClinicID: other.ID,
				After:    b.now,
			})
			noErr(t, "list", err)
			equal(t, "other clinic", apptIDs(got), []string{"other"})
		})
		t.Run("ClinicIsolation", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			a := storetest.Appointment(t, b.st, b.clinic.ID, storetest.AppointmentOpts{})
			_, err := b.st.AppointmentGet(b.ctx, other.ID, a.ID)
			isErr(t, "other clinic's get", err, beckon.ErrNotFound)

			hijack := a
			hijack.ClinicID = other.ID
			hijack.Version = 2
			hijack.Status = beckon.StatusCancelled
			isErr(t, "other clinic's update", b.st.AppointmentPut(b.ctx, hijack, 1), beckon.ErrConflict)
			got, err := b.st.AppointmentGet(b.ctx, b.clinic.ID, a.ID)
			noErr(t, "get", err)
			equal(t, "unchanged", got, a)
		})
	})
}
