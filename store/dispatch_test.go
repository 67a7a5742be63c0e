package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestSendClaimMany(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		planned1 := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_1"})
		planned2 := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_2", Attempts: 2})
		taken := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
			ID: "snd_taken", Status: beckon.SendClaimed, ClaimToken: "other", ClaimedAt: b.now.Add(-time.Hour),
		})
		ended := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_ended", Status: beckon.SendSkipped})

		got, err := b.st.SendClaimMany(b.ctx, b.refs(planned1.ID, taken.ID, ended.ID, "snd_missing", planned2.ID, planned1.ID), "tok_1", b.now)
		noErr(t, "claim many", err)
		slices.SortFunc(got, func(x, y beckon.Send) int { return strings.Compare(x.ID, y.ID) })
		equal(t, "claimed", sendIDs(got), []string{planned1.ID, planned2.ID})
		for _, s := range got {
			if s.Status != beckon.SendClaimed || s.ClaimToken != "tok_1" || !s.ClaimedAt.Equal(b.now) {
				t.Fatalf("claimed send %s: status %q token %q at %v", s.ID, s.Status, s.ClaimToken, s.ClaimedAt)
			}
		}
		equal(t, "attempts", []int{got[0].Attempts, got[1].Attempts}, []int{1, 3})

		// Nothing else moved, and a second claim finds nothing planned.
		for _, s := range []beckon.Send{taken, ended} {
			now, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			equal(t, "untouched "+s.ID, now, s)
		}
		again, err := b.st.SendClaimMany(b.ctx, b.refs(planned1.ID, planned2.ID), "tok_2", b.now)
		noErr(t, "claim again", err)
		equal(t, "claimed twice", len(again), 0)
	})
}

func TestSendRecordMany(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		var recs []beckon.SentRecord
		for _, id := range []string{"snd_1", "snd_2", "snd_lost"} {
			storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: id, PatientID: "pat_1", AppointmentID: "apt_1"})
		}
		claimed, err := b.st.SendClaimMany(b.ctx, b.refs("snd_1", "snd_2", "snd_lost"), "tok", b.now)
		noErr(t, "claim", err)
		equal(t, "claimed", len(claimed), 3)
		// Another worker took snd_lost over after its claim went stale.
		_, ok, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: "snd_lost", Token: "tok_new", Now: b.now.Add(time.Hour), StaleBefore: b.now.Add(time.Minute)})
		noErr(t, "take over", err)
		if !ok {
			t.Fatal("take over: not claimed")
		}
		for _, id := range []string{"snd_1", "snd_2", "snd_lost"} {
			events := []beckon.MessageEvent{{Status: beckon.MessageQueued, At: b.now}}
			if id == "snd_2" {
				events = append(events, beckon.MessageEvent{Status: beckon.MessageSent, At: b.now})
			}
			recs = append(recs, beckon.SentRecord{
				Token: "tok",
				Message: beckon.Message{
					ID: "msg_" + id, ClinicID: b.clinic.ID, PatientID: "pat_1", AppointmentID: "apt_1", SendID: id,
					Direction: beckon.Outbound, Channel: beckon.ChannelSMS, To: "+14155550101", From: "+14155550100",
					Body: "See you soon", Status: beckon.MessageQueued, Provider: "twilio", ProviderID: "SM" + id,
					CreatedAt: b.now, UpdatedAt: b.now,
				},
				Events: events,
			})
		}
		at := b.now.Add(time.Second)
		lost, err := b.st.SendRecordMany(b.ctx, recs, at)
		noErr(t, "record many", err)
		equal(t, "lost", lost, []string{"snd_lost"})

		for _, r := range recs[:2] {
			sd, err := b.st.SendGet(b.ctx, b.clinic.ID, r.Message.SendID)
			noErr(t, "get send", err)
			if sd.Status != beckon.SendSent || sd.MessageID != r.Message.ID || !sd.SentAt.Equal(at) || sd.ClaimToken != "tok" {
				t.Fatalf("send %s: status %q message %q sent_at %v token %q", sd.ID, sd.Status, sd.MessageID, sd.SentAt, sd.ClaimToken)
			}
			m, err := b.st.MessageGet(b.ctx, b.clinic.ID, r.Message.ID)
			noErr(t, "get message", err)
			wantStatus := r.Events[len(r.Events)-1].Status
			if m.Status != wantStatus || m.Body != r.Message.Body || m.ProviderID != r.Message.ProviderID || len(m.Events) != len(r.Events) {
				t.Fatalf("message %s: status %q body %q provider id %q events %d", m.ID, m.Status, m.Body, m.ProviderID, len(m.Events))
			}
		}
		// The lost claim keeps its new owner, and its message was not stored.
		sd, err := b.st.SendGet(b.ctx, b.clinic.ID, "snd_lost")
		noErr(t, "get lost", err)
		if sd.Status != beckon.SendClaimed || sd.ClaimToken != "tok_new" || sd.MessageID != "" {
			t.Fatalf("lost send: status %q token %q message %q", sd.Status, sd.ClaimToken, sd.MessageID)
		}
		_, err = b.st.MessageGet(b.ctx, b.clinic.ID, "msg_snd_lost")
		isErr(t, "lost message", err, beckon.ErrNotFound)

		// Recording again under the same token changes nothing.
		lost, err = b.st.SendRecordMany(b.ctx, recs[:1], at.Add(time.Second))
		noErr(t, "record again", err)
		equal(t, "lost again", lost, []string{"snd_1"})

		_, err = b.st.SendRecordMany(b.ctx, []beckon.SentRecord{{Token: "tok", Message: beckon.Message{SendID: "snd_1"}}}, at)
		if err == nil {
			t.Fatal("a record without a message id was accepted")
		}
	})
}

func TestAddressUndeliverableGetMany(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		other := b.otherClinic(t)
		noErr(t, "mark", b.st.AddressMarkUndeliverable(b.ctx, beckon.UndeliverableAddress{ClinicID: b.clinic.ID, Channel: beckon.ChannelSMS, Address: "+14155550101", Reason: "landline", At: b.now}))
		noErr(t, "mark", b.st.AddressMarkUndeliverable(b.ctx, beckon.UndeliverableAddress{ClinicID: b.clinic.ID, Channel: beckon.ChannelEmail, Address: "a@example.org", Reason: "bounce", At: b.now}))
		noErr(t, "mark other clinic", b.st.AddressMarkUndeliverable(b.ctx, beckon.UndeliverableAddress{ClinicID: other.ID, Channel: beckon.ChannelSMS, Address: "+14155550102", Reason: "landline", At: b.now}))

		got, err := b.st.AddressUndeliverableGetMany(b.ctx, b.clinic.ID, []string{"+14155550101", "+14155550102", "a@example.org", "b@example.org"})
		noErr(t, "get many", err)
		slices.SortFunc(got, func(x, y beckon.UndeliverableAddress) int { return strings.Compare(x.Address, y.Address) })
		equal(t, "found", got, []beckon.UndeliverableAddress{
			{ClinicID: b.clinic.ID, Channel: beckon.ChannelSMS, Address: "+14155550101", Reason: "landline", At: b.now.Truncate(time.Millisecond)},
			{ClinicID: b.clinic.ID, Channel: beckon.ChannelEmail, Address: "a@example.org", Reason: "bounce", At: b.now.Truncate(time.Millisecond)},
		})
		none, err := b.st.AddressUndeliverableGetMany(b.ctx, b.clinic.ID, nil)
		noErr(t, "none", err)
		equal(t, "none", len(none), 0)
	})
}

// A batch claim on PostgreSQL passes over a send another transaction holds
// instead of waiting for it with the whole batch.
func TestSendClaimManySkipsLockedSends(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		if b.st.Dialect() != beckon.DialectPostgres {
			t.Skip("SQLite has one writer: a batch claim waits for it like any write")
		}
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_locked"})
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_free"})
		err := b.st.InTx(b.ctx, func(q beckon.Querier) error {
			// Hold snd_locked's row, as a campaign change superseding it would.
			if err := q.SendMarkEnqueued(b.ctx, []string{"snd_locked"}, b.now); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
			defer cancel()
			got, err := b.st.SendClaimMany(ctx, b.refs("snd_locked", "snd_free"), "tok", b.now)
			if err != nil {
				return err
			}
			equal(t, "claimed while one is locked", sendIDs(got), []string{"snd_free"})
			return nil
		})
		noErr(t, "transaction", err)
		got, err := b.st.SendClaimMany(b.ctx, b.refs("snd_locked"), "tok2", b.now)
		noErr(t, "claim after the lock", err)
		equal(t, "claimed after the lock", sendIDs(got), []string{"snd_locked"})
	})
}

// refs names sends of the bundle's clinic.
func (b *bundle) refs(ids ...string) []beckon.SendRef {
	out := make([]beckon.SendRef, len(ids))
	for i, id := range ids {
		out[i] = beckon.SendRef{ClinicID: b.clinic.ID, ID: id}
	}
	return out
}

// TestSendReadMany reads sends with their appointments, patients and
// campaigns' revisions in one statement: a row that is gone is nil (a
// campaign's revision 0), another clinic's send is not read, and a claimed
// send comes back as stored, every column included.
func TestSendReadMany(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		a := storetest.Appointment(t, b.st, b.clinic.ID, storetest.AppointmentOpts{Notes: "bring the form"})
		p, err := b.st.PatientGet(b.ctx, b.clinic.ID, a.PatientID)
		noErr(t, "patient", err)
		c := storetest.Campaign(t, b.st, b.clinic.ID, storetest.CampaignOpts{Revision: 3, Inactive: true})
		whole := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
			ID: "snd_whole", AppointmentID: a.ID, PatientID: a.PatientID, CampaignID: c.ID, CampaignRevision: 3,
			Status: beckon.SendClaimed, ClaimToken: "tok", ClaimedAt: b.now, Attempts: 2, BeforeStart: true,
		})
		gone := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
			ID: "snd_gone", AppointmentID: "apt_gone", PatientID: "pat_gone", CampaignID: "cmp_gone",
		})
		other := b.otherClinic(t)
		storetest.Send(t, b.st, other.ID, storetest.SendOpts{ID: "snd_other", AppointmentID: a.ID, PatientID: a.PatientID, CampaignID: c.ID})

		got, err := b.st.SendReadMany(b.ctx, b.clinic.ID, []string{whole.ID, gone.ID, "snd_other", "snd_missing"})
		noErr(t, "read many", err)
		equal(t, "read", len(got), 2)
		r := got[whole.ID]
		equal(t, "send", r.Send, whole)
		if r.Appointment == nil || r.Patient == nil {
			t.Fatalf("whole send read without its appointment or patient: %+v", r)
		}
		equal(t, "appointment", *r.Appointment, a)
		equal(t, "patient", *r.Patient, p)
		equal(t, "campaign", [3]any{r.CampaignRevision, r.CampaignActive, r.CampaignUpdatedAt.Equal(c.UpdatedAt)}, [3]any{int64(3), false, true})
		g := got[gone.ID]
		equal(t, "gone send", g.Send, gone)
		if g.Appointment != nil || g.Patient != nil || g.CampaignRevision != 0 {
			t.Fatalf("gone rows read as %+v", g)
		}
	})
}
