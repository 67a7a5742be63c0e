//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// recoveryDeadline is how long after a crash the cases wait for every send
// to end. The target is 15 s (the crash found in about a claim timeout, 5 s,
// then the abandoned sends settled or sent at the sender's pace); each case
// reports the time it took in its FAULT line, which the README's reliability
// figures come from. The deadline is generous because tests assert what
// happens, not how fast: CI runs these beside every other package.
const recoveryDeadline = 90 * time.Second

// everySend: in a burst every send must reach its patient.
func everySend(beckon.Send) bool { return true }

// Case 1. 300 SMS due at once through a sender paced at 50/s (about 7.5 s
// of sending); a worker is killed (kill -9) once a fifth has reached Twilio.
// The other worker, or the restarted serve, finishes: every send reaches
// Twilio exactly once and is recorded sent, within 15 s of the kill.
func TestFaultSMSBurstWorkerKilled(t *testing.T) {
	burstKilled(t, "sms-burst-kill", "sms", deployOpts{TwilioPerSecond: "50"})
}

// Case 2. 300 emails due at once through a SendGrid account paced at 40/s,
// so most wait for a pacing slot when a worker is killed (kill -9, once a
// fifth were accepted). SendGrid's signed event webhook reports every mail it
// accepted (processed, delivered), as it would. Every email reaches SendGrid
// exactly once and is recorded sent, within 15 s of the kill.
func TestFaultEmailBurstWorkerKilled(t *testing.T) {
	burstKilled(t, "email-burst-kill", "email", deployOpts{SendGridPerSecond: "40"})
}

// burstKilled runs a burst case on every backend: 30 patients × 10 steps of
// the channel due in 5 s, a worker killed once 60 reached the provider.
func burstKilled(t *testing.T, name, channel string, o deployOpts) {
	for _, backend := range faultSuite(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := startDeployment(t, backend, o)
			hits := smsHits
			if channel == "email" {
				hits = emailHits
				d.postEmailEvents()
			}
			atProvider := func() int { return len(d.tw.Messages()) + len(d.sg.Accepted()) }
			b := d.book(burstPlan{prefix: name, channel: channel, patients: 30, steps: 10, offset: 10 * time.Minute, dueIn: 5 * time.Second})
			waitFor(t, time.Minute, "a fifth of the burst at the provider", func() bool { return atProvider() >= 60 })
			killed, victim := d.crashWorker()
			n, atKill := atProvider(), d.atKill(b, victim)
			ended := d.awaitEnded(b, killed.Add(recoveryDeadline))
			f := count(name, backend, ended, hits(d), everySend)
			f.report(t, atKill, "at_provider_at_kill="+strconv.Itoa(n), "recovery="+f.since(killed))
			f.assertRecovered(t, killed)
		})
	}
}

// assertRecovered fails the test unless every send ended by the deadline.
func (f *faultTally) assertRecovered(t *testing.T, crash time.Time) {
	t.Helper()
	if f.LastEnded.IsZero() {
		t.Errorf("%d sends had not ended by the deadline (%s after the crash)", f.Unresolved, time.Since(crash).Round(time.Second))
	}
}

// postEmailEvents plays SendGrid's event webhook until the test ends: every
// half second, signed processed and delivered events (with the send_id and
// clinic_id custom arguments Beckon set) for the mails accepted since the
// last batch Beckon took. A batch refused or not answered (Beckon being
// restarted) is posted again, as SendGrid retries.
func (d *deployment) postEmailEvents() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	d.t.Cleanup(func() { cancel(); wg.Wait() })
	client := &http.Client{Timeout: 10 * time.Second}
	wg.Add(1)
	go func() {
		defer wg.Done()
		posted := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			acc := d.sg.Accepted()
			if len(acc) == posted {
				continue
			}
			var events []map[string]any
			for i, a := range acc[posted:] {
				for j, ev := range []string{"processed", "delivered"} {
					events = append(events, map[string]any{
						"email": a.Mail.Personalizations[0].To[0].Email, "timestamp": time.Now().Unix(), "event": ev,
						"sg_event_id": "ev-" + strconv.Itoa(posted+i) + "-" + strconv.Itoa(j), "sg_message_id": a.MessageID + ".filter0001.1",
						"send_id": a.Mail.CustomArgs["send_id"], "clinic_id": a.Mail.CustomArgs["clinic_id"],
					})
				}
			}
			if postSigned(ctx, client, d.base+"/webhooks/sendgrid/events", d.sgKey, events) {
				posted = len(acc)
			}
		}
	}()
}

// postSigned posts a SendGrid event batch signed with key; it reports
// whether Beckon took it (2xx).
func postSigned(ctx context.Context, client *http.Client, target string, key *ecdsa.PrivateKey, events []map[string]any) bool {
	body, _ := json.Marshal(events)
	body = append(body, '\r', '\n')
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		return false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}
