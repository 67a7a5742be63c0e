package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

func messageIDs(ms []beckon.Message) []string {
	return ids(ms, func(m beckon.Message) string { return m.ID })
}

func TestMessages(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := beckon.Message{
				ID:            "msg_1",
				ClinicID:      b.clinic.ID,
				PatientID:     "MRN-1",
				AppointmentID: "A-1",
				SendID:        "snd_1",
				Direction:     beckon.Outbound,
				Channel:       beckon.ChannelEmail,
				To:            "ana@example.com",
				From:          "clinic@example.com",
				Subject:       "Your visit",
				Body:          "See you tomorrow",
				HTML:          "<p>See you tomorrow</p>",
				Status:        beckon.MessageQueued,
				Provider:      "sendgrid",
				ProviderID:    "sg-123",
				CreatedAt:     b.now,
				UpdatedAt:     b.now.Add(time.Second),
			}
			noErr(t, "insert", b.st.MessageInsert(b.ctx, want))
			got, err := b.st.MessageGet(b.ctx, b.clinic.ID, want.ID)
			noErr(t, "get", err)
			equal(t, "message", got, want)
			isErr(t, "insert again", b.st.MessageInsert(b.ctx, want), beckon.ErrConflict)
		})
		t.Run("GeneratedID", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			noErr(t, "insert", b.st.MessageInsert(b.ctx, beckon.Message{
				ClinicID:  b.clinic.ID,
				Direction: beckon.Inbound,
				Status:    beckon.MessageReceived,
			}))
			got, err := b.st.MessageList(b.ctx, beckon.MessageFilter{ClinicID: b.clinic.ID})
			noErr(t, "list", err)
			if len(got) != 1 || len(got[0].ID) != len("msg_")+26 || got[0].CreatedAt.IsZero() {
				t.Fatalf("messages %+v", got)
			}
		})
		t.Run("Missing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.MessageGet(b.ctx, b.clinic.ID, "nope")
			isErr(t, "get", err, beckon.ErrNotFound)
		})
		t.Run("Events", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			m := beckon.Message{
				ID:        "msg_1",
				ClinicID:  b.clinic.ID,
				Direction: beckon.Outbound,
				Status:    beckon.MessageQueued,
				CreatedAt: b.now,
			}
			noErr(t, "insert", b.st.MessageInsert(b.ctx, m))
			events := []beckon.MessageEvent{
				{MessageID: "msg_1", Status: beckon.MessageSent, At: b.now.Add(time.Second)},
				{MessageID: "msg_1", Status: beckon.MessageDelivered, Detail: "carrier ok", At: b.now.Add(2 * time.Second)},
			}
			for _, e := range events {
				noErr(t, "append", b.st.MessageEventAppend(b.ctx, b.clinic.ID, e))
			}
			got, err := b.st.MessageGet(b.ctx, b.clinic.ID, "msg_1")
			noErr(t, "get", err)
			equal(t, "events", got.Events, events)
			equal(t, "status", got.Status, beckon.MessageDelivered)
			equal(t, "updated", got.UpdatedAt, b.now.Add(2*time.Second))

			listed, err := b.st.MessageList(b.ctx, beckon.MessageFilter{ClinicID: b.clinic.ID})
			noErr(t, "list", err)
			equal(t, "listed without events", listed[0].Events, []beckon.MessageEvent(nil))

			isErr(t, "append to missing", b.st.MessageEventAppend(b.ctx, b.clinic.ID, beckon.MessageEvent{
				MessageID: "nope",
				Status:    beckon.MessageSent,
			}), beckon.ErrNotFound)
		})
		t.Run("ClinicIsolation", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			noErr(t, "insert", b.st.MessageInsert(b.ctx, beckon.Message{
				ID:        "msg_a",
				ClinicID:  b.clinic.ID,
				Status:    beckon.MessageQueued,
				CreatedAt: b.now,
			}))
			_, err := b.st.MessageGet(b.ctx, other.ID, "msg_a")
			isErr(t, "other clinic's get", err, beckon.ErrNotFound)
			got, err := b.st.MessageList(b.ctx, beckon.MessageFilter{ClinicID: other.ID})
			noErr(t, "list", err)
			equal(t, "other clinic's list", len(got), 0)
			isErr(t, "other clinic's event", b.st.MessageEventAppend(b.ctx, other.ID, beckon.MessageEvent{
				MessageID: "msg_a",
				Status:    beckon.MessageFailed,
			}), beckon.ErrNotFound)
			_, err = b.st.MessageList(b.ctx, beckon.MessageFilter{ClinicID: other.ID, Before: "msg_a"})
			isErr(t, "other clinic's cursor", err, beckon.ErrNotFound)
			m, err := b.st.MessageGet(b.ctx, b.clinic.ID, "msg_a")
			noErr(t, "get", err)
			equal(t, "status", m.Status, beckon.MessageQueued)
			equal(t, "events", len(m.Events), 0)
		})
		t.Run("ListFilters", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			mk := func(id string, at time.Duration, mod func(m *beckon.Message)) {
				m := beckon.Message{
					ID:            id,
					ClinicID:      b.clinic.ID,
					PatientID:     "p1",
					AppointmentID: "A-1",
					SendID:        "",
					Direction:     beckon.Outbound,
					Channel:       beckon.ChannelSMS,
					Status:        beckon.MessageSent,
					CreatedAt:     b.now.Add(at),
				}
				mod(&m)
				noErr(t, "insert", b.st.MessageInsert(b.ctx, m))
			}
			mk("m1", 1*time.Minute, func(m *beckon.Message) {})
			mk("m2", 2*time.Minute, func(m *beckon.Message) { m.PatientID = "p2" })
			mk("m3", 3*time.Minute, func(m *beckon.Message) { m.AppointmentID = "A-2" })
			mk("m4", 4*time.Minute, func(m *beckon.Message) { m.SendID = "snd_4" })
			mk("m5", 5*time.Minute, func(m *beckon.Message) { m.Direction = beckon.Inbound; m.Status = beckon.MessageReceived })
			mk("m6", 6*time.Minute, func(m *beckon.Message) { m.Channel = beckon.ChannelEmail })
			mk("m7", 7*time.Minute, func(m *beckon.Message) { m.Status = beckon.MessageFailed })

			for _, tc := range []struct {
				name string
				f    beckon.MessageFilter
				want []string
			}{
				{"all newest first", beckon.MessageFilter{}, []string{"m7", "m6", "m5", "m4", "m3", "m2", "m1"}},
				{"patient", beckon.MessageFilter{PatientID: "p2"}, []string{"m2"}},
				{"appointment", beckon.MessageFilter{AppointmentID: "A-2"}, []string{"m3"}},
				{"send", beckon.MessageFilter{SendID: "snd_4"}, []string{"m4"}},
				{"direction", beckon.MessageFilter{Direction: beckon.Inbound}, []string{"m5"}},
				{"channel", beckon.MessageFilter{Channel: beckon.ChannelEmail}, []string{"m6"}},
				{"status", beckon.MessageFilter{Status: beckon.MessageFailed}, []string{"m7"}},
				{"since until", beckon.MessageFilter{Since: b.now.Add(2 * time.Minute), Until: b.now.Add(4 * time.Minute)}, []string{"m3", "m2"}},
				{"limit", beckon.MessageFilter{Limit: 2}, []string{"m7", "m6"}},
				{"combined", beckon.MessageFilter{PatientID: "p1", Channel: beckon.ChannelSMS, Direction: beckon.Outbound, Status: beckon.MessageSent}, []string{"m4", "m3", "m1"}},
			} {
				tc.f.ClinicID = b.clinic.ID
				got, err := b.st.MessageList(b.ctx, tc.f)
				noErr(t, tc.name, err)
				equal(t, tc.name, messageIDs(got), tc.want)
			}
		})
		t.Run("Pagination", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			// 250 messages, several in each millisecond, so the cursor must
			// break ties by id.
			var want []string
			for i := range 250 {
				id := fmt.Sprintf("msg_%04d", i)
				noErr(t, "insert", b.st.MessageInsert(b.ctx, beckon.Message{
					ID:        id,
					ClinicID:  b.clinic.ID,
					CreatedAt: b.now.Add(time.Duration(i/3) * time.Millisecond),
				}))
				want = append([]string{id}, want...)
			}
			var got []string
			before := ""
			for {
				page, err := b.st.MessageList(b.ctx, beckon.MessageFilter{
					ClinicID: b.clinic.ID,
					Before:   before,
					Limit:    40,
				})
				noErr(t, "list", err)
				if len(page) == 0 {
					break
				}
				got = append(got, messageIDs(page)...)
				before = page[len(page)-1].ID
			}
			equal(t, "all pages", got, want)

			page, err := b.st.MessageList(b.ctx, beckon.MessageFilter{ClinicID: b.clinic.ID})
			noErr(t, "default limit", err)
			equal(t, "default limit", len(page), 100)

			_, err = b.st.MessageList(b.ctx, beckon.MessageFilter{ClinicID: b.clinic.ID, Before: "nope"})
			isErr(t, "unknown cursor", err, beckon.ErrNotFound)
		})
	})
}
