package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestPatients(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := beckon.Patient{
				ClinicID:         b.clinic.ID,
				ID:               "MRN-1",
				FirstName:        "Ana",
				LastName:         "Núñez",
				Phone:            "+15555550123",
				Email:            "ana@example.com",
				Language:         "es",
				TimeZone:         "America/Los_Angeles",
				PreferredChannel: beckon.ChannelEmail,
				SMSConsent:       beckon.ConsentOptedOut,
				EmailConsent:     beckon.ConsentOptedIn,
				CreatedAt:        b.now,
				UpdatedAt:        b.now.Add(time.Minute),
			}
			noErr(t, "upsert", b.st.PatientUpsert(b.ctx, want))
			got, err := b.st.PatientGet(b.ctx, b.clinic.ID, "MRN-1")
			noErr(t, "get", err)
			equal(t, "patient", got, want)
		})
		t.Run("UpsertReplacesKeepingCreatedAt", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{})
			created := p.CreatedAt
			p.FirstName = "Changed"
			p.Phone = ""
			p.SMSConsent = beckon.ConsentOptedOut
			p.CreatedAt = b.now.Add(24 * time.Hour)
			p.UpdatedAt = b.now.Add(24 * time.Hour)
			noErr(t, "upsert", b.st.PatientUpsert(b.ctx, p))
			got, err := b.st.PatientGet(b.ctx, b.clinic.ID, p.ID)
			noErr(t, "get", err)
			p.CreatedAt = created
			equal(t, "patient", got, p)
		})
		t.Run("Missing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.PatientGet(b.ctx, b.clinic.ID, "nope")
			isErr(t, "get", err, beckon.ErrNotFound)
		})
		t.Run("ClinicIsolation", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			a := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{
				ID:        "MRN-1",
				FirstName: "Alice",
			})
			_, err := b.st.PatientGet(b.ctx, other.ID, a.ID)
			isErr(t, "other clinic's get", err, beckon.ErrNotFound)

			// The same EHR id in another clinic is another patient.
			storetest.Patient(t, b.st, other.ID, storetest.PatientOpts{
				ID:        "MRN-1",
				FirstName: "Bob",
			})
			got, err := b.st.PatientGet(b.ctx, b.clinic.ID, a.ID)
			noErr(t, "get", err)
			equal(t, "clinic A's patient", got, a)
			got, err = b.st.PatientGet(b.ctx, other.ID, a.ID)
			noErr(t, "get", err)
			equal(t, "clinic B's name", got.FirstName, "Bob")
		})
	})
}
