//go:build unix

package main

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// smsHits is the time of every message Twilio accepted, by the send id its
// StatusCallback carries.
func smsHits(d *deployment) map[string][]time.Time {
	accepted := map[string]int{}
	for _, m := range d.tw.Messages() {
		accepted[callbackSendID(m.StatusCallback)]++
	}
	hits := map[string][]time.Time{}
	for _, r := range creates(d.tw) {
		id := callbackSendID(r.Form.Get("StatusCallback"))
		if len(hits[id]) < accepted[id] {
			hits[id] = append(hits[id], r.Time)
		}
	}
	return hits
}

func callbackSendID(callback string) string {
	u, err := url.Parse(callback)
	if err != nil {
		return ""
	}
	return u.Query().Get("send_id")
}

// emailHits is the time of every mail SendGrid accepted, by its send_id
// custom argument.
func emailHits(d *deployment) map[string][]time.Time {
	hits := map[string][]time.Time{}
	for _, a := range d.sg.Accepted() {
		id := a.Mail.CustomArgs["send_id"]
		hits[id] = append(hits[id], a.At)
	}
	return hits
}

// faultTally is one case's count, per send id, of what the provider has
// against what the store says.
type faultTally struct {
	Case, Backend string
	Sends         int
	Sent          int // recorded sent, and the provider has it once
	Lost          int // ended without reaching the provider, and had to reach the patient
	Dup           int // the provider got it more than once
	// Misrecorded: ended, and the store says otherwise than the provider
	// (skipped, unknown or failed while the provider has it; sent while it
	// has nothing); SkippedHas is the skipped part.
	Misrecorded int
	SkippedHas  int
	Unresolved  int // still planned or claimed at the deadline (sent or not)
	LateP50     time.Duration
	LateMax     time.Duration // first provider request after the due time
	LastEnded   time.Time     // when the last send ended (zero if one has not)
	problems    []string
}

// count compares the sends with the provider's hits; mustSend says which
// sends had to reach the patient (the others may end for a real reason).
func count(caseName, backend string, sends map[string]beckon.Send, hits map[string][]time.Time, mustSend func(beckon.Send) bool) *faultTally {
	f := &faultTally{Case: caseName, Backend: backend, Sends: len(sends)}
	var late []time.Duration
	ids := make([]string, 0, len(sends))
	for id := range sends {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s, n := sends[id], len(hits[id])
		problem := ""
		switch {
		case n > 1:
			f.Dup++
			problem = "sent twice"
		case !terminal(s):
			f.Unresolved++
			problem = "not ended by the deadline"
		case n == 0 && mustSend(s):
			f.Lost++
			problem = "never reached the provider"
		case n == 1 && s.Status != beckon.SendSent:
			f.Misrecorded++
			if s.Status == beckon.SendSkipped {
				f.SkippedHas++
			}
			problem = "the provider has it"
		case n == 0 && s.Status == beckon.SendSent:
			f.Misrecorded++
			problem = "recorded sent, the provider has nothing"
		case n == 1:
			f.Sent++
		}
		if problem != "" {
			f.problems = append(f.problems, fmt.Sprintf("%s: %s (status %s, reason %q, %d at the provider)", id, problem, s.Status, s.Reason, n))
		}
		if n > 0 {
			late = append(late, hits[id][0].Sub(s.DueAt))
		}
		if terminal(s) && endedAt(s).After(f.LastEnded) {
			f.LastEnded = endedAt(s)
		}
	}
	if f.Unresolved > 0 {
		f.LastEnded = time.Time{}
	}
	slices.Sort(late)
	if len(late) > 0 {
		f.LateP50, f.LateMax = late[len(late)/2], late[len(late)-1]
	}
	return f
}

// endedAt is when a send reached its end, by the store.
func endedAt(s beckon.Send) time.Time {
	if s.Status == beckon.SendSent && !s.SentAt.IsZero() {
		return s.SentAt
	}
	return s.UpdatedAt
}

// since is how long after t the last send ended ("unresolved" when one has
// not).
func (f *faultTally) since(t time.Time) string {
	if f.LastEnded.IsZero() {
		return "unresolved"
	}
	return f.LastEnded.Sub(t).Round(10 * time.Millisecond).String()
}

// report logs the case's one greppable line and fails the test for every
// send lost, sent twice, misrecorded or left unresolved.
func (f *faultTally) report(t *testing.T, extra ...string) {
	t.Helper()
	fields := []string{
		"case=" + f.Case, "backend=" + f.Backend,
		fmt.Sprintf("sends=%d sent=%d lost=%d dup=%d misrecorded=%d skipped_provider_has=%d unresolved=%d",
			f.Sends, f.Sent, f.Lost, f.Dup, f.Misrecorded, f.SkippedHas, f.Unresolved),
		fmt.Sprintf("late_p50=%s late_max=%s", f.LateP50.Round(time.Millisecond), f.LateMax.Round(time.Millisecond)),
	}
	t.Logf("FAULT %s", strings.Join(append(fields, extra...), " "))
	if len(f.problems) > 0 {
		shown := f.problems[:min(len(f.problems), 10)]
		t.Errorf("%d of %d sends broke a promise (lost %d, twice %d, misrecorded %d, unresolved %d); first ones:\n  %s",
			len(f.problems), f.Sends, f.Lost, f.Dup, f.Misrecorded, f.Unresolved, strings.Join(shown, "\n  "))
	}
}
