package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestFeeds(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("InboundArchive", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			msgs := []beckon.InboundMessage{
				{ID: "inb_2", ClinicID: b.clinic.ID, Transport: beckon.TransportMLLP, Format: beckon.FormatHL7v2, ControlID: "C2", Digest: "d2", Raw: []byte("MSH|2"), Outcome: "AA", Result: beckon.FeedApplied, AppointmentID: "A-1", ReceivedAt: b.now},
				{ID: "inb_1", ClinicID: b.clinic.ID, Transport: beckon.TransportHTTP, Format: beckon.FormatHL7v2, ControlID: "C1", Digest: "d1", Raw: []byte("MSH|1"), Outcome: "AE", Result: beckon.FeedRejected, Detail: "SCH-2: required field missing", ReceivedAt: b.now},
				{ID: "inb_3", Transport: beckon.TransportMLLP, Format: beckon.FormatHL7v2, Raw: []byte("junk"), Outcome: "AR", Result: beckon.FeedRejected, ReceivedAt: b.now.Add(time.Second)},
			}
			for _, m := range msgs {
				noErr(t, "insert", b.st.InboundInsert(b.ctx, m))
			}
			got, err := b.st.InboundGet(b.ctx, "", "inb_2")
			noErr(t, "get", err)
			equal(t, "get", got, msgs[0])
			got, err = b.st.InboundGet(b.ctx, b.clinic.ID, "inb_2")
			noErr(t, "get in its clinic", err)
			equal(t, "get in its clinic", got, msgs[0])
			other := storetest.Clinic(t, b.st, storetest.ClinicOpts{Name: "Other"})
			if _, err := b.st.InboundGet(b.ctx, other.ID, "inb_2"); !errors.Is(err, beckon.ErrNotFound) {
				t.Fatalf("another clinic's archived message: %v, want ErrNotFound", err)
			}
			if _, err := b.st.InboundList(b.ctx, beckon.InboundFilter{ClinicID: other.ID, AfterID: "inb_1"}); !errors.Is(err, beckon.ErrNotFound) {
				t.Fatalf("another clinic's message as a cursor: %v, want ErrNotFound", err)
			}
			all, err := b.st.InboundList(b.ctx, beckon.InboundFilter{})
			noErr(t, "list", err)
			equal(t, "order", ids(all, func(m beckon.InboundMessage) string { return m.ID }), []string{"inb_1", "inb_2", "inb_3"})
			page, err := b.st.InboundList(b.ctx, beckon.InboundFilter{ClinicID: b.clinic.ID, AfterID: "inb_1"})
			noErr(t, "page", err)
			equal(t, "page", ids(page, func(m beckon.InboundMessage) string { return m.ID }), []string{"inb_2"})
			since, err := b.st.InboundList(b.ctx, beckon.InboundFilter{Since: b.now.Add(time.Second), Limit: 1})
			noErr(t, "since", err)
			equal(t, "since", ids(since, func(m beckon.InboundMessage) string { return m.ID }), []string{"inb_3"})
		})
		t.Run("InboundArchiveKeepsBytes", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			// What a refused or Latin-1 message holds: a NUL, Latin-1 bytes,
			// a truncated UTF-8 sequence; text columns read from it too.
			raw := []byte("MSH|^~\\&|E\x00|F|||20240101||SIU^S12|C\x00\xff|P|2.5.1||||||8859/1\rPID|1||M1||Mu\xf1oz\xc3\r")
			one := beckon.InboundMessage{ID: "inb_bytes", ClinicID: b.clinic.ID, Transport: beckon.TransportMLLP, Format: beckon.FormatHL7v2,
				ControlID: "C\x00\xff", Digest: "d", Raw: raw, Outcome: "AE", Result: beckon.FeedRejected,
				Detail: "hl7: PID-5.1: data type error", AppointmentID: "A\x00", ReceivedAt: b.now}
			noErr(t, "insert", b.st.InboundInsert(b.ctx, one))
			batch := one
			batch.ID = "inb_bytes_batch"
			noErr(t, "feed write", b.st.Write(b.ctx, beckon.Writes{Inbound: []beckon.InboundMessage{batch}}))
			for _, id := range []string{"inb_bytes", "inb_bytes_batch"} {
				got, err := b.st.InboundGet(b.ctx, "", id)
				noErr(t, "get", err)
				equal(t, "raw bytes", got.Raw, raw)
				equal(t, "control id as text", got.ControlID, "C\uFFFD")
				equal(t, "appointment id as text", got.AppointmentID, "A")
			}
		})
		t.Run("FeedState", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.FeedStateGet(b.ctx, b.clinic.ID, "A-1")
			isErr(t, "missing", err, beckon.ErrNotFound)
			s := beckon.FeedState{ClinicID: b.clinic.ID, AppointmentID: "A-1", SourceAt: b.now, Digest: "d1", Tombstone: true, UpdatedAt: b.now}
			noErr(t, "put", b.st.FeedStatePut(b.ctx, s))
			got, err := b.st.FeedStateGet(b.ctx, b.clinic.ID, "A-1")
			noErr(t, "get", err)
			equal(t, "get", got, s)
			s.Tombstone, s.SourceVersion, s.EHRVersion, s.SourceAt = false, 3, "3", time.Time{}
			noErr(t, "replace", b.st.FeedStatePut(b.ctx, s))
			got, err = b.st.FeedStateGet(b.ctx, b.clinic.ID, "A-1")
			noErr(t, "get", err)
			equal(t, "replaced", got, s)
		})
		t.Run("FeedSettings", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			_, err := b.st.FeedSettingsGet(b.ctx, b.clinic.ID)
			isErr(t, "missing", err, beckon.ErrNotFound)
			s := beckon.FeedSettings{ClinicID: b.clinic.ID, Facilities: []string{"NORTH", "SOUTH", "NORTH"}, FHIRBaseURL: "http://ehr/fhir", FHIRAuthHeader: "Bearer x", Writeback: true, UpdatedAt: b.now}
			noErr(t, "put", b.st.FeedSettingsPut(b.ctx, s))
			got, err := b.st.FeedSettingsGet(b.ctx, b.clinic.ID)
			noErr(t, "get", err)
			s.Facilities = []string{"NORTH", "SOUTH"}
			equal(t, "get", got, s)
			c, err := b.st.FeedClinicByFacility(b.ctx, "SOUTH")
			noErr(t, "by facility", err)
			equal(t, "by facility", c, b.clinic.ID)
			_, err = b.st.FeedClinicByFacility(b.ctx, "WEST")
			isErr(t, "unknown facility", err, beckon.ErrNotFound)
			isErr(t, "taken facility", b.st.FeedSettingsPut(b.ctx, beckon.FeedSettings{ClinicID: other.ID, Facilities: []string{"NORTH"}}), beckon.ErrConflict)
			s.Facilities = []string{"WEST"}
			noErr(t, "replace", b.st.FeedSettingsPut(b.ctx, s))
			_, err = b.st.FeedClinicByFacility(b.ctx, "NORTH")
			isErr(t, "released facility", err, beckon.ErrNotFound)
		})
		t.Run("ConfirmationsAndWritebacks", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := beckon.Confirmation{ID: "cnf_1", ClinicID: b.clinic.ID, AppointmentID: "A-1", AppointmentVersion: 2, Response: beckon.ResponseConfirmed, By: "staff:front desk", Method: "phone", Actor: "key:k1", At: b.now}
			noErr(t, "insert", b.st.ConfirmationInsert(b.ctx, c))
			cs, err := b.st.ConfirmationList(b.ctx, b.clinic.ID, "A-1")
			noErr(t, "list", err)
			equal(t, "list", cs, []beckon.Confirmation{c})
			w := beckon.Writeback{ID: "wbk_1", ClinicID: b.clinic.ID, AppointmentID: "A-1", ConfirmationID: "cnf_1", Kind: beckon.WritebackFHIR, Status: beckon.WritebackPending, CreatedAt: b.now, UpdatedAt: b.now}
			noErr(t, "insert", b.st.WritebackInsert(b.ctx, w))
			w.Status, w.Attempts, w.LastError, w.UpdatedAt = beckon.WritebackDone, 2, "412", b.now.Add(time.Minute)
			noErr(t, "update", b.st.WritebackUpdate(b.ctx, w))
			got, err := b.st.WritebackGet(b.ctx, b.clinic.ID, "wbk_1")
			noErr(t, "get", err)
			equal(t, "get", got, w)
			ws, err := b.st.WritebackList(b.ctx, b.clinic.ID, "A-1")
			noErr(t, "list", err)
			equal(t, "list", ws, []beckon.Writeback{w})
			isErr(t, "update missing", b.st.WritebackUpdate(b.ctx, beckon.Writeback{ID: "nope"}), beckon.ErrNotFound)

			// Pending ones, oldest first, only those not touched since the cut-off.
			for i, at := range []time.Time{b.now.Add(-2 * time.Minute), b.now.Add(-3 * time.Minute), b.now} {
				noErr(t, "insert", b.st.WritebackInsert(b.ctx, beckon.Writeback{
					ID:            fmt.Sprintf("wbk_p%d", i),
					ClinicID:      b.clinic.ID,
					AppointmentID: "A-1",
					Kind:          beckon.WritebackWebhook,
					Status:        beckon.WritebackPending,
					CreatedAt:     at,
					UpdatedAt:     at,
				}))
			}
			pending, err := b.st.WritebackListPending(b.ctx, b.now.Add(-time.Minute), 0)
			noErr(t, "list pending", err)
			equal(t, "pending", ids(pending, func(w beckon.Writeback) string { return w.ID }), []string{"wbk_p1", "wbk_p0"})
			pending, err = b.st.WritebackListPending(b.ctx, b.now.Add(time.Minute), 1)
			noErr(t, "list pending", err)
			equal(t, "pending limit", ids(pending, func(w beckon.Writeback) string { return w.ID }), []string{"wbk_p1"})
		})
	})
}

// TestInvalidDataIsPermanent: a value PostgreSQL refuses for what it is (a
// NUL in text, SQLSTATE 22021) is ErrInvalidData, which callers answer as a
// permanent error, never as "try again later".
func TestInvalidDataIsPermanent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		if b.st.Dialect() != beckon.DialectPostgres {
			t.Skip("SQLite stores any bytes in TEXT")
		}
		err := b.st.PatientUpsert(b.ctx, beckon.Patient{ClinicID: b.clinic.ID, ID: "P-1", FirstName: "Ma\x00ria",
			TimeZone: "America/New_York", CreatedAt: b.now, UpdatedAt: b.now})
		isErr(t, "NUL in text", err, beckon.ErrInvalidData)
		if strings.Contains(err.Error(), "Ma") {
			t.Fatalf("the error quotes the value: %v", err)
		}
	})
}
