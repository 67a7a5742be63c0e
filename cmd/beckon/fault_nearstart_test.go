//go:build unix

package main

import (
	"strconv"
	"testing"
	"time"
)

// Case 4. 100 SMS due 90 s before their appointments, through a sender paced
// at 25/s (about 5 s of sending); a worker is killed (kill -9) 1.5 s after
// the first reached Twilio. Every one is sent exactly once before its
// appointment starts, and none is recorded skipped while Twilio has it.
// 90 s: less than the two-minute claim timeout that lost such sends before
// (issue 10), and more than a restart and recovery take on a loaded machine
// (40 s at load average 20); recovery on a quiet one is 6–15 s.
func TestFaultNearStartWorkerKilled(t *testing.T) {
	for _, backend := range faultSuite(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := startDeployment(t, backend, deployOpts{TwilioPerSecond: "25"})
			b := d.book(burstPlan{prefix: "nearstart", channel: "sms", patients: 10, steps: 10, offset: 90 * time.Second, dueIn: 5 * time.Second})
			var first time.Time
			waitFor(t, time.Minute, "the first SMS at Twilio", func() bool {
				if cs := creates(d.tw); len(cs) > 0 {
					first = cs[0].Time
					return true
				}
				return false
			})
			<-time.After(time.Until(first.Add(1500 * time.Millisecond)))
			killed, victim := d.crashWorker()
			atProvider, atKill := len(d.tw.Messages()), d.atKill(b, victim)
			// No reminder goes once its appointment has begun: the start is
			// the deadline of every send.
			ended := d.awaitEnded(b, b.start.Add(2*time.Second))
			f := count("near-start-kill", backend, ended, smsHits(d), everySend)
			margin := "none"
			if !f.LastEnded.IsZero() {
				margin = b.start.Sub(f.LastEnded).Round(10 * time.Millisecond).String()
			}
			f.report(t, atKill, "at_provider_at_kill="+strconv.Itoa(atProvider), "recovery="+f.since(killed), "ended_before_start="+margin)
			f.assertRecovered(t, killed)
		})
	}
}
