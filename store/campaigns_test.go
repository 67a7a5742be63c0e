package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestCampaigns(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := store.Campaign{
				ClinicID: b.clinic.ID,
				ID:       "cmp_reminders",
				Name:     "Reminders",
				Active:   true,
				Match:    store.Match{Types: []string{"checkup", "new-patient"}, Providers: []string{"dr-lee"}},
				Steps: []store.Step{
					{
						ID:                "day-before",
						Timing:            store.Timing{Kind: store.TimingDay, Day: -1, AtMinute: 9 * 60},
						Channel:           store.ChannelPreferred,
						Template:          "reminder",
						OnlyIfUnconfirmed: true,
						Match:             store.Match{Locations: []string{"main"}},
					},
					{
						ID:      "two-hours",
						Timing:  store.Timing{Kind: store.TimingOffset, Offset: -2 * time.Hour},
						Channel: store.ChannelEmail,
						Content: store.Contents{
							"en": {Subject: "See you soon", Text: "Hi {{.FirstName}}", HTML: "<p>Hi</p>"},
							"es": {Text: "Hola {{.FirstName}}"},
						},
					},
				},
				Revision:  4,
				CreatedAt: b.now,
				UpdatedAt: b.now.Add(time.Hour),
			}
			noErr(t, "put", b.st.CampaignPut(b.ctx, want, 0))
			got, err := b.st.CampaignGet(b.ctx, b.clinic.ID, want.ID)
			noErr(t, "get", err)
			equal(t, "campaign", got, want)
		})
		t.Run("NoSteps", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := store.Campaign{
				ClinicID:  b.clinic.ID,
				ID:        "cmp_empty",
				Revision:  1,
				CreatedAt: b.now,
				UpdatedAt: b.now,
			}
			noErr(t, "put", b.st.CampaignPut(b.ctx, want, 0))
			got, err := b.st.CampaignGet(b.ctx, b.clinic.ID, want.ID)
			noErr(t, "get", err)
			equal(t, "campaign", got, want)
		})
		t.Run("Revisions", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := storetest.Campaign(t, b.st, b.clinic.ID, storetest.CampaignOpts{})
			isErr(t, "create again", b.st.CampaignPut(b.ctx, c, 0), store.ErrConflict)

			next := c
			next.Revision = 2
			next.Active = false
			next.Steps = nil
			next.UpdatedAt = b.now
			isErr(t, "wrong revision", b.st.CampaignPut(b.ctx, next, 2), store.ErrConflict)
			noErr(t, "update", b.st.CampaignPut(b.ctx, next, 1))
			isErr(t, "stale revision", b.st.CampaignPut(b.ctx, next, 1), store.ErrConflict)
			got, err := b.st.CampaignGet(b.ctx, b.clinic.ID, c.ID)
			noErr(t, "get", err)
			equal(t, "campaign", got, next)
		})
		t.Run("ListAndDelete", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			for _, id := range []string{"cmp_b", "cmp_a", "cmp_c"} {
				storetest.Campaign(t, b.st, b.clinic.ID, storetest.CampaignOpts{
					ID: id,
				})
			}
			storetest.Campaign(t, b.st, other.ID, storetest.CampaignOpts{
				ID: "cmp_other",
			})
			campaignIDs := func(cs []store.Campaign) []string {
				return ids(cs, func(c store.Campaign) string { return c.ID })
			}
			got, err := b.st.CampaignList(b.ctx, b.clinic.ID)
			noErr(t, "list", err)
			equal(t, "list", campaignIDs(got), []string{"cmp_a", "cmp_b", "cmp_c"})

			noErr(t, "delete", b.st.CampaignDelete(b.ctx, b.clinic.ID, "cmp_b"))
			isErr(t, "delete again", b.st.CampaignDelete(b.ctx, b.clinic.ID, "cmp_b"), store.ErrNotFound)
			_, err = b.st.CampaignGet(b.ctx, b.clinic.ID, "cmp_b")
			isErr(t, "get deleted", err, store.ErrNotFound)
			got, err = b.st.CampaignList(b.ctx, b.clinic.ID)
			noErr(t, "list", err)
			equal(t, "after delete", campaignIDs(got), []string{"cmp_a", "cmp_c"})

			got, err = b.st.CampaignList(b.ctx, other.ID)
			noErr(t, "list", err)
			equal(t, "other clinic", campaignIDs(got), []string{"cmp_other"})
		})
		t.Run("ClinicIsolation", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			c := storetest.Campaign(t, b.st, b.clinic.ID, storetest.CampaignOpts{})
			_, err := b.st.CampaignGet(b.ctx, other.ID, c.ID)
			isErr(t, "other clinic's get", err, store.ErrNotFound)
			hijack := c
			hijack.ClinicID = other.ID
			hijack.Revision = 2
			isErr(t, "other clinic's update", b.st.CampaignPut(b.ctx, hijack, 1), store.ErrConflict)
			isErr(t, "other clinic's delete", b.st.CampaignDelete(b.ctx, other.ID, c.ID), store.ErrNotFound)
			got, err := b.st.CampaignGet(b.ctx, b.clinic.ID, c.ID)
			noErr(t, "get", err)
			equal(t, "unchanged", got, c)
		})
	})
}
