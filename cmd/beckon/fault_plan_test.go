//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
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
	sends   map[string]beckon.Send // by id
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
	b.sends = map[string]beckon.Send{}
	for _, s := range d.sendsOf(b.apptIDs) {
		b.sends[s.ID] = s
	}
	if want := p.patients * p.steps; len(b.sends) != want {
		d.t.Fatalf("booked %d sends, want %d", len(b.sends), want)
	}
	return b
}

// sendsOf reads every send of the appointments from the store.
func (d *deployment) sendsOf(apptIDs []string) []beckon.Send {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []beckon.Send
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
func (d *deployment) current(b booked) map[string]beckon.Send {
	d.t.Helper()
	now := map[string]beckon.Send{}
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
		if s.Status == beckon.SendClaimed {
			claimed++
		}
	}
	return fmt.Sprintf("killed=%s open_at_kill=%d claimed_at_kill=%d", victim, open, claimed)
}

func terminal(s beckon.Send) bool {
	return s.Status != beckon.SendPlanned && s.Status != beckon.SendClaimed
}

// awaitEnded polls the store until every send of b has ended (or the
// deadline passes) and returns them as they are then.
func (d *deployment) awaitEnded(b booked, deadline time.Time) map[string]beckon.Send {
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

// sortedSends is b's sends by appointment id, then send id.
func sortedSends(b booked) []beckon.Send {
	var out []beckon.Send
	for _, s := range b.sends {
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y beckon.Send) int {
		return strings.Compare(x.AppointmentID+"/"+x.ID, y.AppointmentID+"/"+y.ID)
	})
	return out
}
