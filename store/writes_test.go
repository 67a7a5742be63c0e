package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestFeedBatch(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		// writes is a batch that books appointment A-1 (version v) for
		// patient P-1, with a send, its feed state and its archive row.
		writes := func(b *bundle, v int64, sendID string) beckon.Writes {
			return beckon.Writes{
				ClinicID: b.clinic.ID,
				Patients: []beckon.Patient{{ClinicID: b.clinic.ID, ID: "P-1", FirstName: "Ana", SMSConsent: beckon.ConsentUnknown,
					EmailConsent: beckon.ConsentUnknown, CreatedAt: b.now, UpdatedAt: b.now}},
				Appointments: []beckon.Appointment{{ClinicID: b.clinic.ID, ID: "A-1", PatientID: "P-1", Start: b.now.Add(48 * time.Hour),
					Duration: 30 * time.Minute, Status: beckon.StatusBooked, Confirmation: beckon.Unconfirmed, Version: v,
					CreatedAt: b.now, UpdatedAt: b.now}},
				Sends: []beckon.Send{{ID: sendID, ClinicID: b.clinic.ID, AppointmentID: "A-1", AppointmentVersion: v, PatientID: "P-1",
					CampaignID: "C-1", CampaignRevision: 1, StepID: "remind", Channel: beckon.ChannelSMS, DueAt: b.now.Add(24 * time.Hour),
					Status: beckon.SendPlanned, CreatedAt: b.now, UpdatedAt: b.now}},
				Audits:     []beckon.AuditEntry{{ClinicID: b.clinic.ID, Actor: "ehr:test", Action: "appointment.created", Entity: "appointment", EntityID: "A-1", At: b.now}},
				FeedStates: []beckon.FeedState{{ClinicID: b.clinic.ID, AppointmentID: "A-1", SourceAt: b.now, Digest: sendID, UpdatedAt: b.now}},
				Inbound:    []beckon.InboundMessage{{ID: "inb_" + sendID, ClinicID: b.clinic.ID, Transport: beckon.TransportMLLP, Format: beckon.FormatHL7v2, Raw: []byte("MSH|"), Outcome: "AA", Result: beckon.FeedApplied, AppointmentID: "A-1", ReceivedAt: b.now}},
				Now:        b.now,
			}
		}
		// conflict checks that err is ErrConflict and, on PostgreSQL, that
		// it names the check of the one statement that failed.
		conflict := func(t *testing.T, b *bundle, what string, err error, check string) {
			t.Helper()
			isErr(t, what, err, beckon.ErrConflict)
			if b.st.Dialect() == beckon.DialectPostgres && !strings.Contains(err.Error(), "beckon: conflict: "+check) {
				t.Fatalf("%s: err = %v, want the check %q named", what, err, check)
			}
		}
		nothingOf := func(t *testing.T, b *bundle, sendID string) {
			t.Helper()
			_, err := b.st.SendGet(b.ctx, b.clinic.ID, sendID)
			isErr(t, "send of a failed write", err, beckon.ErrNotFound)
			_, err = b.st.InboundGet(b.ctx, "", "inb_"+sendID)
			isErr(t, "archive of a failed write", err, beckon.ErrNotFound)
			if s, err := b.st.FeedStateGet(b.ctx, b.clinic.ID, "A-1"); err == nil && s.Digest == sendID {
				t.Fatalf("feed state of a failed write: %+v", s)
			}
		}

		t.Run("WriteReadSupersede", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			noErr(t, "write v1", b.st.Write(b.ctx, writes(b, 1, "s1")))
			read, err := b.st.FeedReadMany(b.ctx, b.clinic.ID, []string{"A-1", "A-2"}, []string{"P-1", "P-2"})
			noErr(t, "read", err)
			if len(read.Appointments) != 1 || read.Appointments["A-1"].Version != 1 || read.Patients["P-1"].FirstName != "Ana" ||
				read.States["A-1"].Digest != "s1" || len(read.States) != 1 || len(read.Patients) != 1 {
				t.Fatalf("read %+v", read)
			}
			// Version 2 supersedes the planned sends of version 1, not its own.
			w := writes(b, 2, "s2")
			w.Patients, w.Inbound = nil, nil
			w.Supersede = []beckon.SupersedeSet{{AppointmentIDs: []string{"A-1"}, Reason: "appointment changed"}}
			noErr(t, "write v2", b.st.Write(b.ctx, w))
			s1, err := b.st.SendGet(b.ctx, b.clinic.ID, "s1")
			noErr(t, "s1", err)
			s2, err := b.st.SendGet(b.ctx, b.clinic.ID, "s2")
			noErr(t, "s2", err)
			if s1.Status != beckon.SendSuperseded || s1.Reason != "appointment changed" || s2.Status != beckon.SendPlanned {
				t.Fatalf("after v2: s1 %s %q, s2 %s", s1.Status, s1.Reason, s2.Status)
			}
			audits, err := b.st.AuditList(b.ctx, b.clinic.ID, "appointment", "A-1")
			noErr(t, "audit", err)
			equal(t, "audit entries", len(audits), 2)
		})
		t.Run("LostRaceWritesNothing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			noErr(t, "write v1", b.st.Write(b.ctx, writes(b, 1, "s1")))
			// Another writer moved A-1 to version 2; this batch planned from version 1.
			a, err := b.st.AppointmentGet(b.ctx, b.clinic.ID, "A-1")
			noErr(t, "get", err)
			a.Version, a.Status = 2, beckon.StatusArrived
			noErr(t, "put v2", b.st.AppointmentPut(b.ctx, a, 1))
			w := writes(b, 2, "s2")
			w.Patients[0].FirstName = "Bo"
			conflict(t, b, "stale write", b.st.Write(b.ctx, w), "an appointment is no longer at the version before")
			nothingOf(t, b, "s2")
			p, err := b.st.PatientGet(b.ctx, b.clinic.ID, "P-1")
			noErr(t, "patient", err)
			equal(t, "patient of a failed write", p.FirstName, "Ana")
		})
		// Each change to what planning reads, made between planning (the
		// clinic's PlanRevision read) and the write, makes the write fail
		// and write nothing; planned again, it stands.
		for _, tc := range []struct {
			name   string
			change func(t *testing.T, b *bundle, c beckon.Campaign, clinic beckon.Clinic)
		}{
			{"CampaignUpdated", func(t *testing.T, b *bundle, c beckon.Campaign, _ beckon.Clinic) {
				c.Revision, c.UpdatedAt = 2, c.UpdatedAt.Add(time.Second)
				noErr(t, "campaign v2", b.st.CampaignPut(b.ctx, c, 1))
			}},
			{"CampaignCreated", func(t *testing.T, b *bundle, _ beckon.Campaign, _ beckon.Clinic) {
				storetest.Campaign(t, b.st, b.clinic.ID, storetest.CampaignOpts{})
			}},
			{"CampaignDeleted", func(t *testing.T, b *bundle, c beckon.Campaign, _ beckon.Clinic) {
				noErr(t, "campaign delete", b.st.CampaignDelete(b.ctx, b.clinic.ID, c.ID))
			}},
			{"ClinicZoneChanged", func(t *testing.T, b *bundle, _ beckon.Campaign, clinic beckon.Clinic) {
				clinic.TimeZone = "Asia/Tokyo"
				noErr(t, "clinic update", b.st.ClinicUpdate(b.ctx, clinic))
			}},
			{"ClinicQuietHoursChanged", func(t *testing.T, b *bundle, _ beckon.Campaign, clinic beckon.Clinic) {
				clinic.QuietHours = beckon.QuietHours{Enabled: true, StartMinute: 20 * 60, EndMinute: 9 * 60}
				noErr(t, "clinic update", b.st.ClinicUpdate(b.ctx, clinic))
			}},
		} {
			t.Run("StalePlanWritesNothing/"+tc.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				c := storetest.Campaign(t, b.st, b.clinic.ID, storetest.CampaignOpts{})
				clinic, err := b.st.ClinicGet(b.ctx, b.clinic.ID)
				noErr(t, "clinic", err)
				w := writes(b, 1, "s1")
				w.PlanRevision = clinic.PlanRevision
				noErr(t, "current plan", b.st.Write(b.ctx, w))

				tc.change(t, b, c, clinic)
				w = writes(b, 2, "s2")
				w.PlanRevision = clinic.PlanRevision
				conflict(t, b, "stale plan", b.st.Write(b.ctx, w), "the clinic or its campaigns changed since planning")
				nothingOf(t, b, "s2")

				again, err := b.st.ClinicGet(b.ctx, b.clinic.ID)
				noErr(t, "clinic again", err)
				if again.PlanRevision <= clinic.PlanRevision {
					t.Fatalf("plan revision %d after the change, was %d", again.PlanRevision, clinic.PlanRevision)
				}
				w.PlanRevision = again.PlanRevision
				noErr(t, "current again", b.st.Write(b.ctx, w))
			})
		}
		t.Run("StalePlanOfAnotherClinic", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			clinic, err := b.st.ClinicGet(b.ctx, b.clinic.ID)
			noErr(t, "clinic", err)
			w := writes(b, 1, "s1")
			w.PlanRevision = clinic.PlanRevision
			other := storetest.Clinic(t, b.st, storetest.ClinicOpts{})
			storetest.Campaign(t, b.st, other.ID, storetest.CampaignOpts{})
			noErr(t, "another clinic's change is not this one's", b.st.Write(b.ctx, w))
		})
	})
}
