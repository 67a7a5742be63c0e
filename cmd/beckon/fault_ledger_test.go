//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/store"
)

// A burst of sends for the fault cases: patients each with one appointment
// under a campaign whose steps all fall due together, every (patient, step)
// with its own text, so that a lookup at Twilio (To, From, body) can tell
// each send from the others.

// burstPlan is what a case books.
type burstPlan struct {
	prefix   string        // ids of patients, appointments and the campaign
	channel  string        // sms or email
	patients int           // one appointment each
	steps    int           // sends per appointment
	offset   time.Duration // the steps' offset before the start
	dueIn    time.Duration // from booking to the sends' due time
	fallback bool          // the steps fall back to the other channel
}

// booked is what a plan made: the appointments and their sends.
type booked struct {
	start   time.Time // every appointment's start
	apptIDs []string
	sends   map[string]store.Send // by id
}

// book creates the campaign, patients and appointments of p.
func (d *deployment) book(p burstPlan) booked {
	d.t.Helper()
	var steps []map[string]any
	for i := range p.steps {
		steps = append(steps, map[string]any{
			"id": fmt.Sprintf("s%02d", i), "offset": "-" + p.offset.String(), "channel": p.channel, "fallback": p.fallback,
			"content": map[string]any{"en": map[string]any{
				"subject": fmt.Sprintf("Reminder %d", i),
				"text":    fmt.Sprintf("Reminder %d for {{.Patient.FirstName}} at {{.Appointment.Time}}", i),
			}},
		})
	}
	d.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/"+p.prefix, map[string]any{"name": p.prefix, "steps": steps}, nil)
	var b booked
	for i := range p.patients {
		pid := fmt.Sprintf("%s-p%02d", p.prefix, i)
		d.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/"+pid, map[string]any{
			"first_name": "Pat", "last_name": "Fault", "phone": fmt.Sprintf("+141555501%02d", i),
			"email": fmt.Sprintf("pat%02d@example.com", i), "time_zone": "America/Chicago",
		}, nil)
	}
	b.start = time.Now().Add(p.dueIn + p.offset).Truncate(time.Second)
	var appts []map[string]any
	for i := range p.patients {
		aid := fmt.Sprintf("%s-a%02d", p.prefix, i)
		appts = append(appts, map[string]any{"id": aid, "patient_id": fmt.Sprintf("%s-p%02d", p.prefix, i), "start": rfc(b.start)})
		b.apptIDs = append(b.apptIDs, aid)
	}
	d.mustCall(http.StatusOK, http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": appts}, nil)
	b.sends = map[string]store.Send{}
	for _, s := range d.sendsOf(b.apptIDs) {
		b.sends[s.ID] = s
	}
	if want := p.patients * p.steps; len(b.sends) != want {
		d.t.Fatalf("booked %d sends, want %d", len(b.sends), want)
	}
	return b
}

// sendsOf reads every send of the appointments from the store.
func (d *deployment) sendsOf(apptIDs []string) []store.Send {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []store.Send
	for _, id := range apptIDs {
		ss, err := d.st.SendListByAppointment(ctx, d.clinicID, id)
		if err != nil {
			d.t.Fatalf("read sends of %s: %v", id, err)
		}
		out = append(out, ss...)
	}
	return out
}

// current reads the sends of b as they are now.
func (d *deployment) current(b booked) map[string]store.Send {
	d.t.Helper()
	now := map[string]store.Send{}
	for _, s := range d.sendsOf(b.apptIDs) {
		if _, ok := b.sends[s.ID]; ok {
			now[s.ID] = s
		}
	}
	return now
}

// atKill describes the sends of b just after a crash: which process was
// killed, how many sends had not ended, and how many of those were claimed.
func (d *deployment) atKill(b booked, victim string) string {
	d.t.Helper()
	open, claimed := 0, 0
	for _, s := range d.current(b) {
		if !terminal(s) {
			open++
		}
		if s.Status == store.SendClaimed {
			claimed++
		}
	}
	return fmt.Sprintf("killed=%s open_at_kill=%d claimed_at_kill=%d", victim, open, claimed)
}

func terminal(s store.Send) bool {
	return s.Status != store.SendPlanned && s.Status != store.SendClaimed
}

// awaitEnded polls the store until every send of b has ended (or the
// deadline passes) and returns them as they are then.
func (d *deployment) awaitEnded(b booked, deadline time.Time) map[string]store.Send {
	d.t.Helper()
	for {
		now := d.current(b)
		open := 0
		for _, s := range now {
			if !terminal(s) {
				open++
			}
		}
		if open == 0 || time.Now().After(deadline) {
			return now
		}
		<-time.After(250 * time.Millisecond)
	}
}

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
func count(caseName, backend string, sends map[string]store.Send, hits map[string][]time.Time, mustSend func(store.Send) bool) *faultTally {
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
		case n == 1 && s.Status != store.SendSent:
			f.Misrecorded++
			if s.Status == store.SendSkipped {
				f.SkippedHas++
			}
			problem = "the provider has it"
		case n == 0 && s.Status == store.SendSent:
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
func endedAt(s store.Send) time.Time {
	if s.Status == store.SendSent && !s.SentAt.IsZero() {
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
