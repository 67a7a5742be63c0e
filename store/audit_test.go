package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

func TestAudit(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("AppendAndList", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			entries := []beckon.AuditEntry{
				{ID: "aud_2", ClinicID: b.clinic.ID, Actor: "key_1", Action: "appointment.update", Entity: "appointment", EntityID: "A-1", Detail: `{"version":2}`, At: b.now.Add(time.Minute)},
				{ID: "aud_1", ClinicID: b.clinic.ID, Actor: "system", Action: "appointment.create", Entity: "appointment", EntityID: "A-1", Detail: `{}`, At: b.now},
				{ID: "aud_3", ClinicID: b.clinic.ID, Actor: "ehr:epic", Action: "patient.update", Entity: "patient", EntityID: "MRN-1", At: b.now},
				{ID: "aud_4", ClinicID: other.ID, Actor: "system", Action: "appointment.create", Entity: "appointment", EntityID: "A-1", At: b.now},
			}
			for _, e := range entries {
				noErr(t, "append", b.st.AuditAppend(b.ctx, e))
			}
			isErr(t, "append again", b.st.AuditAppend(b.ctx, entries[0]), beckon.ErrConflict)

			got, err := b.st.AuditList(b.ctx, b.clinic.ID, "appointment", "A-1")
			noErr(t, "list", err)
			equal(t, "appointment A-1", got, []beckon.AuditEntry{entries[1], entries[0]})

			got, err = b.st.AuditList(b.ctx, b.clinic.ID, "", "")
			noErr(t, "list", err)
			equal(t, "whole clinic", ids(got, func(e beckon.AuditEntry) string { return e.ID }),
				[]string{"aud_1", "aud_3", "aud_2"})

			got, err = b.st.AuditList(b.ctx, other.ID, "appointment", "A-1")
			noErr(t, "list", err)
			equal(t, "other clinic", got, []beckon.AuditEntry{entries[3]})
		})
		t.Run("GeneratedIDAndTime", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			noErr(t, "append", b.st.AuditAppend(b.ctx, beckon.AuditEntry{
				ClinicID: b.clinic.ID,
				Actor:    "system",
				Entity:   "send",
				EntityID: "snd_1",
			}))
			got, err := b.st.AuditList(b.ctx, b.clinic.ID, "send", "snd_1")
			noErr(t, "list", err)
			if len(got) != 1 || len(got[0].ID) != len("aud_")+26 || got[0].At.IsZero() {
				t.Fatalf("entries %+v", got)
			}
		})
		t.Run("Query", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			at := func(m int) time.Time { return b.now.Add(time.Duration(m) * time.Minute) }
			for _, e := range []beckon.AuditEntry{
				{ID: "aud_1", ClinicID: b.clinic.ID, Actor: "key:k1", Action: "patient.read", Entity: "patient", EntityID: "P-1", At: at(0)},
				{ID: "aud_2", ClinicID: b.clinic.ID, Actor: "key:k2", Action: "appointment.read", Entity: "appointment", EntityID: "A-1", PatientID: "P-1", At: at(1)},
				{ID: "aud_3", ClinicID: b.clinic.ID, Actor: "key:k1", Action: "patient.read", Entity: "patient", EntityID: "P-2", At: at(2)},
				{ID: "aud_4", ClinicID: b.clinic.ID, Actor: "system", Action: "appointment.update", Entity: "appointment", EntityID: "A-1", At: at(2)},
				{ID: "aud_5", ClinicID: other.ID, Actor: "key:k9", Action: "patient.read", Entity: "patient", EntityID: "P-1", At: at(3)},
			} {
				noErr(t, "append", b.st.AuditAppend(b.ctx, e))
			}
			query := func(f beckon.AuditFilter) []string {
				t.Helper()
				if f.ClinicID == "" {
					f.ClinicID = b.clinic.ID
				}
				got, err := b.st.AuditQuery(b.ctx, f)
				noErr(t, "query", err)
				return ids(got, func(e beckon.AuditEntry) string { return e.ID })
			}
			equal(t, "all, newest first", query(beckon.AuditFilter{}), []string{"aud_4", "aud_3", "aud_2", "aud_1"})
			equal(t, "by patient (entity or named)", query(beckon.AuditFilter{PatientID: "P-1"}), []string{"aud_2", "aud_1"})
			equal(t, "by key", query(beckon.AuditFilter{Actor: "key:k1"}), []string{"aud_3", "aud_1"})
			equal(t, "by action", query(beckon.AuditFilter{Action: "appointment.read"}), []string{"aud_2"})
			equal(t, "since, until", query(beckon.AuditFilter{Since: at(1), Until: at(2)}), []string{"aud_2"})
			equal(t, "page 1", query(beckon.AuditFilter{Limit: 2}), []string{"aud_4", "aud_3"})
			equal(t, "page 2", query(beckon.AuditFilter{Limit: 2, Before: "aud_3"}), []string{"aud_2", "aud_1"})
			equal(t, "other clinic", query(beckon.AuditFilter{ClinicID: other.ID}), []string{"aud_5"})
			_, err := b.st.AuditQuery(b.ctx, beckon.AuditFilter{ClinicID: b.clinic.ID, Before: "aud_5"})
			isErr(t, "another clinic's cursor", err, beckon.ErrNotFound)
		})
	})
}
