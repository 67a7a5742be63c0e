package store_test

import (
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestSendGetMany(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		other := b.otherClinic(t)
		mine := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_mine"})
		claimed := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
			ID: "snd_claimed", Status: beckon.SendClaimed, ClaimToken: "tok", ClaimedAt: b.now,
		})
		storetest.Send(t, b.st, other.ID, storetest.SendOpts{ID: "snd_theirs"})

		got, err := b.st.SendGetMany(b.ctx, b.clinic.ID, []string{mine.ID, claimed.ID, "snd_theirs", "snd_missing", mine.ID})
		noErr(t, "get many", err)
		equal(t, "sends", got, map[string]beckon.Send{mine.ID: mine, claimed.ID: claimed})

		none, err := b.st.SendGetMany(b.ctx, b.clinic.ID, nil)
		noErr(t, "get none", err)
		equal(t, "no sends", len(none), 0)
	})
}
