package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

// TestByIDIsClinicScoped: every read and write that names a record by an id
// that can arrive from outside (a webhook's send id or provider id, a task's
// send or write-back id) finds only the named clinic's record. Another
// clinic's record is ErrNotFound and is left as it was.
func TestByIDIsClinicScoped(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("Sends", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			theirs := storetest.Send(t, b.st, other.ID, storetest.SendOpts{ID: "snd_theirs"})
			mine := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_mine"})

			_, err := b.st.SendGet(b.ctx, b.clinic.ID, theirs.ID)
			isErr(t, "get another clinic's send", err, beckon.ErrNotFound)
			got, err := b.st.SendGet(b.ctx, other.ID, theirs.ID)
			noErr(t, "get own send", err)
			equal(t, "own send", got, theirs)

			_, claimed, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: theirs.ID, Token: "tok", Now: b.now})
			isErr(t, "claim another clinic's send", err, beckon.ErrNotFound)
			equal(t, "claimed", claimed, false)

			many, err := b.st.SendClaimMany(b.ctx, []beckon.SendRef{
				{ClinicID: b.clinic.ID, ID: theirs.ID},
				{ClinicID: b.clinic.ID, ID: mine.ID},
			}, "tok_many", b.now)
			noErr(t, "claim many", err)
			equal(t, "claimed by the batch", sendIDs(many), []string{mine.ID})

			after, err := b.st.SendGet(b.ctx, other.ID, theirs.ID)
			noErr(t, "get", err)
			equal(t, "another clinic's send after the claims", after, theirs)
		})
		t.Run("MessagesByProvider", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			m := beckon.Message{
				ID: "msg_theirs", ClinicID: other.ID, Direction: beckon.Outbound, Channel: beckon.ChannelSMS,
				Status: beckon.MessageQueued, Provider: "twilio", ProviderID: "SM1", CreatedAt: b.now,
			}
			noErr(t, "insert", b.st.MessageInsert(b.ctx, m))
			_, err := b.st.MessageGetByProvider(b.ctx, b.clinic.ID, "twilio", "SM1")
			isErr(t, "another clinic's message", err, beckon.ErrNotFound)
			got, err := b.st.MessageGetByProvider(b.ctx, other.ID, "twilio", "SM1")
			noErr(t, "own message", err)
			equal(t, "own message", got.ID, m.ID)
		})
		t.Run("ProviderEvents", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			// A key recorded for one clinic does not use up another's.
			first, err := b.st.ProviderEventRecord(b.ctx, b.clinic.ID, "twilio", "SM1:delivered", b.now)
			noErr(t, "record", err)
			equal(t, "first for A", first, true)
			first, err = b.st.ProviderEventRecord(b.ctx, other.ID, "twilio", "SM1:delivered", b.now)
			noErr(t, "record", err)
			equal(t, "first for B", first, true)
			first, err = b.st.ProviderEventRecord(b.ctx, other.ID, "twilio", "SM1:delivered", b.now)
			noErr(t, "record", err)
			equal(t, "again for B", first, false)
			// The clinic id is part of the key without ambiguity.
			first, err = b.st.ProviderEventRecord(b.ctx, "cln", "twilio", "_a:SM1:delivered", b.now)
			noErr(t, "record", err)
			equal(t, "a prefix of a clinic id", first, true)
		})
		t.Run("Outbox", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			_, err := b.st.OutboxPut(b.ctx, beckon.OutboxEntry{ClinicID: other.ID, SendID: "snd_theirs", Channel: beckon.ChannelSMS, CreatedAt: b.now})
			noErr(t, "put", err)
			_, err = b.st.OutboxGetBySend(b.ctx, b.clinic.ID, "snd_theirs")
			isErr(t, "another clinic's entry", err, beckon.ErrNotFound)
			got, err := b.st.OutboxGetBySend(b.ctx, other.ID, "snd_theirs")
			noErr(t, "own entry", err)
			equal(t, "own entry", got.SendID, "snd_theirs")
		})
		t.Run("Writebacks", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			w := beckon.Writeback{ID: "wbk_theirs", ClinicID: other.ID, AppointmentID: "A-1", Kind: beckon.WritebackWebhook,
				Status: beckon.WritebackPending, CreatedAt: b.now, UpdatedAt: b.now}
			noErr(t, "insert", b.st.WritebackInsert(b.ctx, w))
			_, err := b.st.WritebackGet(b.ctx, b.clinic.ID, w.ID)
			isErr(t, "get another clinic's write-back", err, beckon.ErrNotFound)
			forged := w
			forged.ClinicID, forged.Status, forged.UpdatedAt = b.clinic.ID, beckon.WritebackDone, b.now.Add(time.Minute)
			isErr(t, "update another clinic's write-back", b.st.WritebackUpdate(b.ctx, forged), beckon.ErrNotFound)
			got, err := b.st.WritebackGet(b.ctx, other.ID, w.ID)
			noErr(t, "get own write-back", err)
			equal(t, "own write-back after the forged update", got, w)
		})
	})
}
