package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestCampaigns(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := beckon.Campaign{
				ClinicID: b.clinic.ID,
				ID:       "cmp_reminders",
				Name:     "Reminders",
				Active:   true,
				Match:    beckon.Match{Types: []string{"checkup", "new-patient"}, Providers: []string{"dr-lee"}},
				Steps: []beckon.Step{
					{
						ID:                "day-before",
						Timing:            beckon.Timing{Kind: beckon.TimingDay, Day: -1, AtMinute: 9 * 60},
						Channel:           beckon.ChannelPreferred,
						Template:          "reminder",
						OnlyIfUnconfirmed: true,
						Match:             beckon.Match{Locations: []string{"main"}},
					},
					{
						ID:      "two-hours",
						Timing:  beckon.Timing{Kind: beckon.TimingOffset, Offset: -2 * time.Hour},
						Channel: beckon.ChannelEmail,
						Content: beckon.Contents{
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
			want := beckon.Campaign{
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
			isErr(t, "create again", b.st.CampaignPut(b.ctx, c, 0), beckon.ErrConflict)

			next := c
			next.Revision = 2
			next.Active = false
			next.Steps = nil
			next.UpdatedAt = b.now
			isErr(t, "wrong revision", b.st.CampaignPut(b.ctx, next, 2), beckon.ErrConflict)
			noErr(t, "update", b.st.CampaignPut(b.ctx, next, 1))
			isErr(t, "stale revision", b.st.CampaignPut(b.ctx, next, 1), beckon.ErrConflict)
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
			campaignIDs := func(cs []beckon.Campaign) []string {
				return ids(cs, func(c beckon.Campaign) string { return c.ID })
			}
			got, err := b.st.CampaignList(b.ctx, b.clinic.ID)
			noErr(t, "list", err)
			equal(t, "list", campaignIDs(got), []string{"cmp_a", "cmp_b", "cmp_c"})

			noErr(t, "delete", b.st.CampaignDelete(b.ctx, b.clinic.ID, "cmp_b"))
			isErr(t, "delete again", b.st.CampaignDelete(b.ctx, b.clinic.ID, "cmp_b"), beckon.ErrNotFound)
			_, err = b.st.CampaignGet(b.ctx, b.clinic.ID, "cmp_b")
			isErr(t, "get deleted", err, beckon.ErrNotFound)
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
			isErr(t, "other clinic's get", err, beckon.ErrNotFound)
			hijack := c
			hijack.ClinicID = other.ID
			hijack.Revision = 2
			isErr(t, "other clinic's update", b.st.CampaignPut(b.ctx, hijack, 1), beckon.ErrConflict)
			isErr(t, "other clinic's delete", b.st.CampaignDelete(b.ctx, other.ID, c.ID), beckon.ErrNotFound)
			got, err := b.st.CampaignGet(b.ctx, b.clinic.ID, c.ID)
			noErr(t, "get", err)
			equal(t, "unchanged", got, c)
		})
	})
}
