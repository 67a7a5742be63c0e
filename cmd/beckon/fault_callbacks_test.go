//go:build unix

package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
)

// Case 5. Four SMS (steps with fallback) reached Twilio and are recorded;
// then Redis goes down, and Twilio posts signed status callbacks: delivered
// for two, undelivered (30003) for the other two. Twilio does not retry an
// answer it did not like, so each callback is posted once. Redis comes back:
// each status is applied exactly once, and each undelivered SMS produces its
// one fallback email. On embedded the serve process uses this Redis instead
// of its own (SQLite keeps the callbacks).
func TestFaultStatusCallbacksWhileRedisDown(t *testing.T) {
	for _, backend := range faultSuite(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			r := startStoppableRedis(t)
			d := startDeployment(t, backend, deployOpts{RedisURL: r.URL()})
			b := d.book(burstPlan{prefix: "cb", channel: "sms", patients: 4, steps: 1, offset: 10 * time.Minute, dueIn: 4 * time.Second, fallback: true})
			sent := d.awaitEnded(b, time.Now().Add(time.Minute))
			sids := map[string]string{} // send id → Twilio SID
			for _, m := range d.tw.Messages() {
				sids[callbackSendID(m.StatusCallback)] = m.SID
			}
			var order []beckon.Send
			for _, s := range sortedSends(b) {
				if sent[s.ID].Status != beckon.SendSent || sids[s.ID] == "" {
					t.Fatalf("send %s before the outage: %s (%q), at Twilio %t", s.ID, sent[s.ID].Status, sent[s.ID].Reason, sids[s.ID] != "")
				}
				order = append(order, s)
			}

			r.stop()
			want := map[string]string{} // send id → the status Twilio reported
			answered, refused := 0, 0
			client := &http.Client{Timeout: 30 * time.Second}
			for i, s := range order {
				cb := twiliotest.Callback{SID: sids[s.ID], Status: "delivered", Client: client}
				if i >= 2 {
					cb.Status, cb.ErrorCode = "undelivered", 30003
				}
				want[s.ID] = cb.Status
				code, err := d.tw.PostStatus(context.Background(), cb)
				if err == nil && code/100 == 2 {
					answered++
				} else {
					refused++
					t.Logf("callback %s for %s while Redis is down: %d %v (Twilio does not retry it)", cb.Status, s.ID, code, err)
				}
			}
			r.start()
			up := time.Now()

			// Each status applied, each undelivered one's fallback email sent.
			view := &providerApp{app: d.app}
			applied := map[string]int{}
			fallbacks := map[string]int{}
			settled := func() bool {
				clear(applied)
				clear(fallbacks)
				for _, a := range d.sg.Accepted() {
					fallbacks[a.Mail.CustomArgs["send_id"]]++
				}
				done := true
				for _, s := range order {
					m, ok := view.message(s.ID)
					for _, e := range m.Events {
						if e.Status == want[s.ID] {
							applied[s.ID]++
						}
					}
					if !ok || applied[s.ID] == 0 || (want[s.ID] == "undelivered" && fallbacks[s.ID+"~fallback"] == 0) {
						done = false
					}
				}
				return done
			}
			deadline := up.Add(recoveryDeadline)
			for !settled() && time.Now().Before(deadline) {
				<-time.After(250 * time.Millisecond)
			}
			recovery := time.Since(up)
			// The fallback sends have ended: a second email for one could
			// only come from a second delivery, which its claim prevents.
			fbIDs := map[string]bool{}
			for _, s := range order {
				if want[s.ID] == "undelivered" {
					fbIDs[s.ID+"~fallback"] = true
				}
			}
			lost, dup, fbSent, fbDup, fbWrong := 0, 0, 0, 0, 0
			for _, s := range order {
				switch n := applied[s.ID]; {
				case n == 0:
					lost++
				case n > 1:
					dup++
				}
				n := fallbacks[s.ID+"~fallback"]
				switch {
				case want[s.ID] == "delivered" && n > 0:
					fbWrong++
				case want[s.ID] == "undelivered" && n == 1:
					fbSent++
				case n > 1:
					fbDup++
				}
			}
			shown := "unresolved"
			if lost == 0 && fbSent == len(fbIDs) {
				shown = recovery.Round(10 * time.Millisecond).String()
			}
			t.Logf("FAULT case=callbacks-redis-down backend=%s callbacks=%d answered_2xx=%d refused=%d lost=%d dup=%d fallback=%d/%d fallback_dup=%d fallback_wrong=%d recovery=%s",
				backend, len(order), answered, refused, lost, dup, fbSent, len(fbIDs), fbDup, fbWrong, shown)
			if lost > 0 || dup > 0 {
				t.Errorf("of %d status callbacks posted while Redis was down, %d were never applied and %d applied twice (%s after Redis came back); %d were refused with a non-2xx",
					len(order), lost, dup, recovery.Round(10*time.Millisecond), refused)
			}
			if fbSent != len(fbIDs) || fbDup > 0 || fbWrong > 0 {
				t.Errorf("fallback emails: %d of %d sent once, %d sent twice, %d for a delivered SMS", fbSent, len(fbIDs), fbDup, fbWrong)
			}
		})
	}
}
