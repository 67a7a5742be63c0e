package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

func TestClinics(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := beckon.Clinic{
				ID:         "cln_x",
				Name:       "Harbor Family Medicine",
				TimeZone:   "America/Chicago",
				Phone:      "+13125550100",
				QuietHours: beckon.QuietHours{Enabled: true, StartMinute: 20 * 60, EndMinute: 7*60 + 30},
				InboxHours: map[string]string{"en": "weekdays 8 AM to 5 PM", "es": "de lunes a viernes, de 8 a 17 h"},
				CreatedAt:  b.now,
				UpdatedAt:  b.now.Add(time.Second),
			}
			noErr(t, "create", b.st.ClinicCreate(b.ctx, want))
			got, err := b.st.ClinicGet(b.ctx, "cln_x")
			noErr(t, "get", err)
			want.PlanRevision = 1 // a new clinic's
			equal(t, "clinic", got, want)
		})
		t.Run("CreateExisting", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			err := b.st.ClinicCreate(b.ctx, beckon.Clinic{ID: b.clinic.ID, Name: "Other"})
			isErr(t, "create", err, beckon.ErrConflict)
			got, err := b.st.ClinicGet(b.ctx, b.clinic.ID)
			noErr(t, "get", err)
			equal(t, "name", got.Name, b.clinic.Name)
		})
		t.Run("GetMissing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.ClinicGet(b.ctx, "cln_nope")
			isErr(t, "get", err, beckon.ErrNotFound)
		})
		t.Run("List", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			noErr(t, "create", b.st.ClinicCreate(b.ctx, beckon.Clinic{ID: "cln_0"}))
			b.otherClinic(t)
			got, err := b.st.ClinicList(b.ctx)
			noErr(t, "list", err)
			equal(t, "ids", ids(got, func(c beckon.Clinic) string { return c.ID }),
				[]string{"cln_0", "cln_a", "cln_b"})
			equal(t, "first", got[1], b.clinic)
		})
		t.Run("Update", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.clinic
			c.Name = "Renamed"
			c.TimeZone = "Europe/Paris"
			c.Phone = ""
			c.QuietHours = beckon.QuietHours{}
			c.InboxHours = map[string]string{"vi": "thứ Hai đến thứ Sáu"}
			c.CreatedAt = b.now.Add(-time.Hour) // ignored
			c.UpdatedAt = b.now
			noErr(t, "update", b.st.ClinicUpdate(b.ctx, c))
			got, err := b.st.ClinicGet(b.ctx, c.ID)
			noErr(t, "get", err)
			c.CreatedAt = b.clinic.CreatedAt
			c.PlanRevision = b.clinic.PlanRevision + 1
			equal(t, "clinic", got, c)
		})
		t.Run("UpdateMissing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			err := b.st.ClinicUpdate(b.ctx, beckon.Clinic{ID: "cln_nope", Name: "x"})
			isErr(t, "update", err, beckon.ErrNotFound)
		})
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := beckon.APIKey{
				ID:        "key_1",
				ClinicID:  b.clinic.ID,
				Name:      "EHR feed",
				Role:      beckon.RoleEHR,
				Hash:      "ab12",
				CreatedAt: b.now,
			}
			noErr(t, "create", b.st.APIKeyCreate(b.ctx, want))
			got, err := b.st.APIKeyGetByHash(b.ctx, "ab12")
			noErr(t, "get", err)
			equal(t, "key", got, want)
		})
		t.Run("GeneratedID", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			noErr(t, "create", b.st.APIKeyCreate(b.ctx, beckon.APIKey{
				ClinicID: b.clinic.ID,
				Role:     beckon.RoleAdmin,
				Hash:     "cd34",
			}))
			got, err := b.st.APIKeyGetByHash(b.ctx, "cd34")
			noErr(t, "get", err)
			if len(got.ID) != len("key_")+26 || got.CreatedAt.IsZero() {
				t.Fatalf("generated id %q, created %v", got.ID, got.CreatedAt)
			}
		})
		t.Run("Conflicts", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			k := beckon.APIKey{ID: "key_1", ClinicID: b.clinic.ID, Hash: "h1"}
			noErr(t, "create", b.st.APIKeyCreate(b.ctx, k))
			isErr(t, "same id", b.st.APIKeyCreate(b.ctx, beckon.APIKey{
				ID: "key_1", ClinicID: b.clinic.ID, Hash: "h2",
			}), beckon.ErrConflict)
			isErr(t, "same hash", b.st.APIKeyCreate(b.ctx, beckon.APIKey{
				ID: "key_2", ClinicID: b.clinic.ID, Hash: "h1",
			}), beckon.ErrConflict)
		})
		t.Run("Missing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.APIKeyGetByHash(b.ctx, "nope")
			isErr(t, "get", err, beckon.ErrNotFound)
		})
	})
}
