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
