package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestSendCallStartMany(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		for _, id := range []string{"snd_1", "snd_2", "snd_lost"} {
			storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: id})
		}
		_, err := b.st.SendClaimMany(b.ctx, b.refs("snd_1", "snd_2", "snd_lost"), "tok", b.now)
		noErr(t, "claim", err)
		// Another worker took snd_lost over.
		_, ok, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: "snd_lost", Token: "tok_new",
			Now: b.now.Add(time.Hour), StaleBefore: b.now.Add(time.Minute)})
		if err != nil || !ok {
			t.Fatalf("take over: %v %v", ok, err)
		}
		at := b.now.Add(5 * time.Second)
		call := func(id string) beckon.SendCall {
			return beckon.SendCall{SendID: id, ClinicID: b.clinic.ID, ClaimToken: "tok", Channel: beckon.ChannelEmail,
				To: "a@example.org", Subject: "S " + id, Body: "text " + id, HTML: "<p>" + id + "</p>"}
		}
		lost, err := b.st.SendCallStartMany(b.ctx, []beckon.SendCall{call("snd_1"), call("snd_2"), call("snd_lost")}, at)
		noErr(t, "start", err)
		equal(t, "lost", lost, []string{"snd_lost"})

		got, err := b.st.SendCallGet(b.ctx, b.clinic.ID, "snd_1")
		noErr(t, "get call", err)
		want := call("snd_1")
		want.StartedAt = at
		equal(t, "call", got, want)
		s, err := b.st.SendGet(b.ctx, b.clinic.ID, "snd_1")
		noErr(t, "get send", err)
		equal(t, "claim renewed at the call", s.ClaimedAt, at)
		if _, err := b.st.SendCallGet(b.ctx, b.clinic.ID, "snd_lost"); !errors.Is(err, beckon.ErrNotFound) {
			t.Fatalf("a lost claim's call was recorded: %v", err)
		}
		if _, err := b.st.SendCallGet(b.ctx, "cl_other", "snd_1"); !errors.Is(err, beckon.ErrNotFound) {
			t.Fatalf("another clinic read the call: %v", err)
		}

		// A later call of the same send (a retry under a new claim) replaces it.
		noErr(t, "release", b.st.SendRelease(b.ctx, beckon.SendReleaseParams{ID: "snd_2", Token: "tok", Reason: "retry", Now: at}))
		_, ok, err = b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: "snd_2", Token: "tok_2", Now: at})
		if err != nil || !ok {
			t.Fatalf("claim again: %v %v", ok, err)
		}
		again := call("snd_2")
		again.ClaimToken, again.Body = "tok_2", "second"
		lost, err = b.st.SendCallStartMany(b.ctx, []beckon.SendCall{again}, at.Add(time.Second))
		noErr(t, "start again", err)
		equal(t, "lost again", len(lost), 0)
		got, err = b.st.SendCallGet(b.ctx, b.clinic.ID, "snd_2")
		noErr(t, "get again", err)
		equal(t, "replaced", []string{got.ClaimToken, got.Body}, []string{"tok_2", "second"})
	})
}

func TestSendCallTakeOverAndRenew(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		for _, id := range []string{"snd_1", "snd_2"} {
			storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: id})
		}
		_, err := b.st.SendClaimMany(b.ctx, b.refs("snd_1", "snd_2"), "tok", b.now)
		noErr(t, "claim", err)
		_, err = b.st.SendCallStartMany(b.ctx, []beckon.SendCall{{SendID: "snd_1", ClinicID: b.clinic.ID, ClaimToken: "tok", Channel: beckon.ChannelSMS, To: "+15550001111", Body: "hi"}}, b.now)
		noErr(t, "start", err)

		// Renewal moves ClaimedAt of the claims still held with their token only.
		later := b.now.Add(3 * time.Second)
		noErr(t, "renew", b.st.SendClaimRenew(b.ctx, []beckon.ClaimRef{{ID: "snd_1", Token: "tok"}, {ID: "snd_2", Token: "wrong"}}, later))
		s1, _ := b.st.SendGet(b.ctx, b.clinic.ID, "snd_1")
		s2, _ := b.st.SendGet(b.ctx, b.clinic.ID, "snd_2")
		equal(t, "renewed", []time.Time{s1.ClaimedAt, s2.ClaimedAt}, []time.Time{later, b.now})

		// Taking over: only a call made under the abandoned token is handed on.
		_, found, err := b.st.SendCallTakeOver(b.ctx, b.clinic.ID, "snd_2", "tok", "tok_b")
		noErr(t, "take over without call", err)
		equal(t, "call of a claim that never called", found, false)
		_, found, err = b.st.SendCallTakeOver(b.ctx, b.clinic.ID, "snd_1", "not-the-token", "tok_b")
		noErr(t, "take over wrong token", err)
		equal(t, "call under another token", found, false)
		_, found, err = b.st.SendCallTakeOver(b.ctx, "cl_other", "snd_1", "tok", "tok_b")
		noErr(t, "take over other clinic", err)
		equal(t, "another clinic's call", found, false)
		c, found, err := b.st.SendCallTakeOver(b.ctx, b.clinic.ID, "snd_1", "tok", "tok_b")
		noErr(t, "take over", err)
		equal(t, "handed on", []any{found, c.ClaimToken, c.Body}, []any{true, "tok_b", "hi"})
		_, found, err = b.st.SendCallTakeOver(b.ctx, b.clinic.ID, "snd_1", "tok", "tok_c")
		noErr(t, "take over twice", err)
		equal(t, "taken over twice", found, false)
	})
}

func TestSendSightingAndReopen(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_u", Status: beckon.SendUnknown, ClaimToken: "tok", ClaimedAt: b.now})
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_s", Status: beckon.SendSent})
		_, err := b.st.SendCallStartMany(b.ctx, nil, b.now)
		noErr(t, "start nothing", err)

		first := beckon.SendSighting{SendID: "snd_u", ClinicID: b.clinic.ID, Provider: "sendgrid", ProviderID: "pid_1", Status: beckon.MessageSent, At: b.now}
		noErr(t, "sighting", b.st.SendSightingRecord(b.ctx, first))
		second := first
		second.ProviderID, second.Status = "pid_2", beckon.MessageDelivered
		noErr(t, "second sighting", b.st.SendSightingRecord(b.ctx, second))
		got, err := b.st.SendSightingGet(b.ctx, b.clinic.ID, "snd_u")
		noErr(t, "get sighting", err)
		equal(t, "first word kept", got, first)
		if _, err := b.st.SendSightingGet(b.ctx, "cl_other", "snd_u"); !errors.Is(err, beckon.ErrNotFound) {
			t.Fatalf("another clinic read the sighting: %v", err)
		}

		// A claim left waiting for the word (ClaimedAt ahead) is woken; a
		// live worker's claim is not.
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_wait", Status: beckon.SendClaimed, ClaimToken: "w", ClaimedAt: b.now.Add(time.Minute)})
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_live", Status: beckon.SendClaimed, ClaimToken: "l", ClaimedAt: b.now})
		for _, id := range []string{"snd_wait", "snd_live"} {
			noErr(t, "sighting "+id, b.st.SendSightingRecord(b.ctx, beckon.SendSighting{SendID: id, ClinicID: b.clinic.ID, Provider: "twilio", ProviderID: "SM" + id, At: b.now}))
		}
		woken, _ := b.st.SendGet(b.ctx, b.clinic.ID, "snd_wait")
		live, _ := b.st.SendGet(b.ctx, b.clinic.ID, "snd_live")
		if !woken.ClaimedAt.Before(b.now.Add(-time.Hour)) || !live.ClaimedAt.Equal(b.now) {
			t.Fatalf("after the word: waiting claim at %v (want long ago), live claim at %v (want %v)", woken.ClaimedAt, live.ClaimedAt, b.now)
		}

		ok, err := b.st.SendReopen(b.ctx, "cl_other", "snd_u", b.now)
		noErr(t, "reopen other clinic", err)
		equal(t, "reopened another clinic's", ok, false)
		ok, err = b.st.SendReopen(b.ctx, b.clinic.ID, "snd_s", b.now)
		noErr(t, "reopen sent", err)
		equal(t, "reopened a sent send", ok, false)
		ok, err = b.st.SendReopen(b.ctx, b.clinic.ID, "snd_u", b.now)
		noErr(t, "reopen", err)
		equal(t, "reopened", ok, true)
		s, err := b.st.SendGet(b.ctx, b.clinic.ID, "snd_u")
		noErr(t, "get", err)
		equal(t, "reopened send", []string{string(s.Status), s.ClaimToken}, []string{string(beckon.SendClaimed), "tok.r"})
		stale, err := b.st.SendListStaleClaims(b.ctx, b.now.Add(-time.Hour), 0)
		noErr(t, "stale", err)
		equal(t, "handed to the next stale pass", sendIDs(stale), []string{"snd_u", "snd_wait"})
	})
}

func TestSendCallPrune(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_claimed", Status: beckon.SendClaimed, ClaimToken: "tok", ClaimedAt: b.now})
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_sent", Status: beckon.SendPlanned})
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: "snd_recent", Status: beckon.SendPlanned})
		for _, id := range []string{"snd_sent", "snd_recent"} {
			_, err := b.st.SendClaimMany(b.ctx, b.refs(id), "tok", b.now)
			noErr(t, "claim", err)
		}
		old := b.now.Add(-2 * time.Hour)
		var calls []beckon.SendCall
		for _, id := range []string{"snd_claimed", "snd_sent"} {
			calls = append(calls, beckon.SendCall{SendID: id, ClinicID: b.clinic.ID, ClaimToken: "tok", Channel: beckon.ChannelSMS, To: "+1", Body: "x"})
		}
		_, err := b.st.SendCallStartMany(b.ctx, calls, old)
		noErr(t, "old calls", err)
		_, err = b.st.SendCallStartMany(b.ctx, []beckon.SendCall{{SendID: "snd_recent", ClinicID: b.clinic.ID, ClaimToken: "tok", Channel: beckon.ChannelSMS, To: "+1", Body: "x"}}, b.now)
		noErr(t, "recent call", err)
		for _, id := range []string{"snd_sent", "snd_recent"} {
			noErr(t, "finish", b.st.SendFinish(b.ctx, beckon.SendFinishParams{ID: id, Token: "tok", Status: beckon.SendSent, MessageID: "msg_" + id, Now: b.now}))
		}
		n, err := b.st.SendCallPrune(b.ctx, b.now.Add(-time.Hour), b.now.Add(-7*24*time.Hour), 100)
		noErr(t, "prune", err)
		equal(t, "pruned", n, 1)
		for id, kept := range map[string]bool{"snd_claimed": true, "snd_sent": false, "snd_recent": true} {
			_, err := b.st.SendCallGet(b.ctx, b.clinic.ID, id)
			if kept != (err == nil) {
				t.Fatalf("call of %s kept=%v, err %v", id, kept, err)
			}
		}
		// Everything past the expiry goes, settled or not.
		n, err = b.st.SendCallPrune(b.ctx, b.now.Add(-time.Hour), b.now.Add(time.Hour), 100)
		noErr(t, "expire", err)
		equal(t, "expired", n, 2)
	})
}

// Taking over a stale claim carries the call started under it in the same
// statement's transaction, so an attempt that stops right after the takeover
// leaves a claim whose call the next attempt still finds; a call of an
// earlier claim (released: it never reached the provider) stays behind.
func TestSendClaimTakeOverCarriesTheCall(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		for _, id := range []string{"snd_1", "snd_2"} {
			storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{ID: id})
		}
		_, err := b.st.SendClaimMany(b.ctx, b.refs("snd_1", "snd_2"), "tok", b.now)
		noErr(t, "claim", err)
		call := func(id, token string) beckon.SendCall {
			return beckon.SendCall{SendID: id, ClinicID: b.clinic.ID, ClaimToken: token, Channel: beckon.ChannelSMS, To: "+15550001111", Body: "hi " + id}
		}
		lost, err := b.st.SendCallStartMany(b.ctx, []beckon.SendCall{call("snd_1", "tok"), call("snd_2", "tok")}, b.now)
		noErr(t, "start", err)
		equal(t, "lost", len(lost), 0)
		takeOver := func(id, token string, at time.Time) bool {
			t.Helper()
			_, ok, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: id, Token: token,
				Now: at, StaleBefore: at.Add(-time.Minute)})
			noErr(t, "take over "+id, err)
			return ok
		}
		tokenOf := func(id string) string {
			t.Helper()
			c, err := b.st.SendCallGet(b.ctx, b.clinic.ID, id)
			noErr(t, "get call "+id, err)
			return c.ClaimToken
		}

		// Not stale yet: nothing moves.
		equal(t, "fresh claim taken", takeOver("snd_1", "tok_b", b.now.Add(30*time.Second)), false)
		equal(t, "call of a fresh claim", tokenOf("snd_1"), "tok")

		// Stale: the claim and its call move together; the worker that took
		// over finds its call whether or not it hands it on itself.
		at := b.now.Add(2 * time.Minute)
		equal(t, "stale claim taken", takeOver("snd_1", "tok_b", at), true)
		equal(t, "call handed on with the claim", tokenOf("snd_1"), "tok_b")
		c, found, err := b.st.SendCallTakeOver(b.ctx, b.clinic.ID, "snd_1", "tok", "tok_b")
		noErr(t, "take the call over", err)
		equal(t, "call found by the claim that took over", []any{found, c.ClaimToken, c.Body}, []any{true, "tok_b", "hi snd_1"})
		// That claim stops in turn: the next takeover carries the call on.
		equal(t, "taken over again", takeOver("snd_1", "tok_c", at.Add(2*time.Minute)), true)
		_, found, err = b.st.SendCallTakeOver(b.ctx, b.clinic.ID, "snd_1", "tok_b", "tok_c")
		noErr(t, "take the call over again", err)
		equal(t, "call found after two takeovers", found, true)
		_, found, err = b.st.SendCallTakeOver(b.ctx, "cl_other", "snd_1", "tok_b", "tok_c")
		noErr(t, "another clinic", err)
		equal(t, "another clinic's call", found, false)

		// Released (the call never reached the provider), claimed afresh,
		// then abandoned before any call: the old call stays with its token.
		noErr(t, "release", b.st.SendRelease(b.ctx, beckon.SendReleaseParams{ID: "snd_2", Token: "tok", Reason: "retry", Now: at}))
		_, ok, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: "snd_2", Token: "tok_2", Now: at})
		if err != nil || !ok {
			t.Fatalf("claim afresh: %v %v", ok, err)
		}
		equal(t, "abandoned fresh claim taken", takeOver("snd_2", "tok_3", at.Add(2*time.Minute)), true)
		equal(t, "released call left behind", tokenOf("snd_2"), "tok")
		_, found, err = b.st.SendCallTakeOver(b.ctx, b.clinic.ID, "snd_2", "tok_2", "tok_3")
		noErr(t, "take over a claim without call", err)
		equal(t, "claim that never called", found, false)
	})
}
