//go:build unix

package main

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// Case 3. 12 SMS due together through a sender paced at 1/s, so they wait
// for their slots; once the first reached Twilio, half of those not there
// yet have their appointments cancelled (3) or moved an hour later (3) in one
// batch. None of those six reaches Twilio later than callWindow after the
// batch committed (its answer is the latest the commit can be), each ends
// skipped or superseded (a cancel is a new version of the appointment too),
// and the other six are sent once.
//
// callWindow: a send re-checks its appointment immediately before the call,
// so a change that commits between that check and the request reaching
// Twilio cannot stop it. That gap is the request's transit, milliseconds on a
// quiet machine, hundreds of them on a loaded one. Before the re-check moved
// next to the call, changed sends reached Twilio 0.5–8 s after the commit.
func TestFaultCancelWhileWaitingForSlot(t *testing.T) {
	const callWindow = 400 * time.Millisecond
	for _, backend := range faultSuite(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := startDeployment(t, backend, deployOpts{TwilioPerSecond: "1"})
			b := d.book(burstPlan{prefix: "slot", channel: "sms", patients: 12, steps: 1, offset: 10 * time.Minute, dueIn: 5 * time.Second})
			waitFor(t, time.Minute, "the first SMS at Twilio", func() bool { return len(d.tw.Messages()) > 0 })

			hits := smsHits(d)
			changed := map[string]string{} // appointment id → cancelled or moved
			var items []map[string]any
			for _, s := range sortedSends(b) {
				if len(hits[s.ID]) > 0 || len(changed) == 6 {
					continue
				}
				item := map[string]any{"id": s.AppointmentID, "patient_id": s.PatientID, "start": rfc(b.start)}
				if len(changed) < 3 {
					item["status"] = "cancelled"
					changed[s.AppointmentID] = "cancelled"
				} else {
					item["start"] = rfc(b.start.Add(time.Hour))
					changed[s.AppointmentID] = "moved"
				}
				items = append(items, item)
			}
			if len(changed) < 6 {
				t.Fatalf("only %d sends still waiting when the first reached Twilio; the sender is not pacing", len(changed))
			}
			d.mustCall(http.StatusOK, http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": items}, nil)
			committed := time.Now()

			ended := d.awaitEnded(b, committed.Add(time.Minute))
			hits = smsHits(d)
			f := count("cancel-while-paced", backend, ended, hits, func(s beckon.Send) bool { return changed[s.AppointmentID] == "" })
			late, lateMax := 0, time.Duration(0)
			for _, s := range ended {
				if changed[s.AppointmentID] == "" {
					continue
				}
				for _, at := range hits[s.ID] {
					if at.After(committed.Add(callWindow)) {
						late++
						lateMax = max(lateMax, at.Sub(committed))
					}
				}
				if len(hits[s.ID]) == 0 && s.Status != beckon.SendSkipped && s.Status != beckon.SendSuperseded {
					t.Errorf("send %s of a %s appointment: status %s (%q), want skipped or superseded", s.ID, changed[s.AppointmentID], s.Status, s.Reason)
				}
			}
			f.report(t, "changed=6", "late_after_cancel="+strconv.Itoa(late), "late_after_cancel_max="+lateMax.Round(time.Millisecond).String())
			if late > 0 {
				t.Errorf("%d SMS reached Twilio more than %s after the change of their appointment committed (up to %s after)", late, callWindow, lateMax.Round(time.Millisecond))
			}
		})
	}
}
