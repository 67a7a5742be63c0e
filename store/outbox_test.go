package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

func TestOutbox(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("OncePerSend", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := beckon.OutboxEntry{
				ID:        "obx_1",
				ClinicID:  b.clinic.ID,
				SendID:    "snd_1",
				Channel:   beckon.ChannelEmail,
				To:        "ana@example.com",
				Subject:   "Reminder",
				Body:      "See you",
				HTML:      "<p>See you</p>",
				Headers:   map[string]string{"List-Unsubscribe": "<https://beckon.example.org/l/x>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
				CreatedAt: b.now,
			}
			created, err := b.st.OutboxPut(b.ctx, want)
			noErr(t, "put", err)
			equal(t, "created", created, true)

			again := want
			again.ID = "obx_2"
			again.Body = "Different"
			created, err = b.st.OutboxPut(b.ctx, again)
			noErr(t, "put again", err)
			equal(t, "created again", created, false)

			got, err := b.st.OutboxGetBySend(b.ctx, b.clinic.ID, "snd_1")
			noErr(t, "get", err)
			equal(t, "entry", got, want)
			_, err = b.st.OutboxGetBySend(b.ctx, b.clinic.ID, "nope")
			isErr(t, "get missing", err, beckon.ErrNotFound)
		})
		t.Run("WithoutSend", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for range 2 {
				created, err := b.st.OutboxPut(b.ctx, beckon.OutboxEntry{
					ClinicID: b.clinic.ID,
					Channel:  beckon.ChannelSMS,
					To:       "+15555550100",
					Body:     "ad hoc",
				})
				noErr(t, "put", err)
				equal(t, "created", created, true)
			}
			got, err := b.st.OutboxList(b.ctx, beckon.OutboxFilter{ClinicID: b.clinic.ID})
			noErr(t, "list", err)
			equal(t, "entries", len(got), 2)
			if got[0].ID == "" || got[0].SendID != "" || got[0].CreatedAt.IsZero() {
				t.Fatalf("entry %+v", got[0])
			}
			_, err = b.st.OutboxGetBySend(b.ctx, b.clinic.ID, "")
			isErr(t, "get by empty send", err, beckon.ErrNotFound)
		})
		t.Run("List", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			put := func(clinicID, id, sendID, to string, at time.Duration) {
				_, err := b.st.OutboxPut(b.ctx, beckon.OutboxEntry{
					ID:        id,
					ClinicID:  clinicID,
					SendID:    sendID,
					To:        to,
					CreatedAt: b.now.Add(at),
				})
				noErr(t, "put", err)
			}
			put(b.clinic.ID, "o3", "s3", "+1555", 3*time.Minute)
			put(b.clinic.ID, "o1", "s1", "+1555", 1*time.Minute)
			put(b.clinic.ID, "o2", "s2", "a@example.com", 2*time.Minute)
			put(other.ID, "o4", "s4", "+1555", 0)
			outboxIDs := func(es []beckon.OutboxEntry) []string {
				return ids(es, func(e beckon.OutboxEntry) string { return e.ID })
			}
			for _, tc := range []struct {
				name string
				f    beckon.OutboxFilter
				want []string
			}{
				{"oldest first", beckon.OutboxFilter{ClinicID: b.clinic.ID}, []string{"o1", "o2", "o3"}},
				{"to", beckon.OutboxFilter{ClinicID: b.clinic.ID, To: "+1555"}, []string{"o1", "o3"}},
				{"send", beckon.OutboxFilter{ClinicID: b.clinic.ID, SendID: "s2"}, []string{"o2"}},
				{"since", beckon.OutboxFilter{ClinicID: b.clinic.ID, Since: b.now.Add(2 * time.Minute)}, []string{"o2", "o3"}},
				{"limit", beckon.OutboxFilter{ClinicID: b.clinic.ID, Limit: 1}, []string{"o1"}},
				{"other clinic", beckon.OutboxFilter{ClinicID: other.ID}, []string{"o4"}},
				{"other clinic cannot see by send", beckon.OutboxFilter{ClinicID: other.ID, SendID: "s1"}, []string{}},
			} {
				got, err := b.st.OutboxList(b.ctx, tc.f)
				noErr(t, tc.name, err)
				equal(t, tc.name, outboxIDs(got), tc.want)
			}
		})
	})
}
