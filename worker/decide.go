package worker

import (
	"context"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
)

// verdict is what the latest truth says of a claimed send: end it (status
// and reason), hand it back until a later time (until and reason), or send
// it on channel kind to address to.
type verdict struct {
	status beckon.SendStatus
	reason string
	until  time.Time
	kind   beckon.Channel
	to     string
}

// settled reports that the send does not go now.
func (v verdict) settled() bool { return v.status != "" || !v.until.IsZero() }

// The verdicts on a send whose appointment, patient or campaign is gone.
var (
	goneAppointment = verdict{status: beckon.SendSuperseded, reason: "appointment no longer exists"}
	gonePatient     = verdict{status: beckon.SendSkipped, reason: "patient no longer exists"}
	goneCampaign    = verdict{status: beckon.SendSuperseded, reason: "campaign deleted"}
)

// decide applies the latest truth to the send at now (DESIGN.md promise 3):
// the appointment and campaign as planned, quiet hours, the due time and the
// patient's consent on the channel. Both the first check after the claim and
// the final check just before the provider call decide here.
func (a *attempt) decide(clinic beckon.Clinic, p beckon.Patient, appt beckon.Appointment, c beckon.Campaign, now time.Time) verdict {
	sd := a.send
	if status, reason := a.recheck(appt, c, now); status != "" {
		return verdict{status: status, reason: reason}
	}
	loc := scheduler.Location(clinic, p)
	if end, inside := scheduler.QuietUntil(clinic.QuietHours, loc, now); clinic.QuietHours.Enabled && inside {
		if sd.BeforeStart && !end.Before(appt.Start) {
			return verdict{status: beckon.SendSkipped, reason: "quiet hours until the appointment"}
		}
		return verdict{until: end, reason: "quiet hours"}
	}
	if now.Before(sd.DueAt) {
		return verdict{until: sd.DueAt, reason: "not due yet"}
	}
	kind, to, reason := resolveChannel(sd.Channel, p)
	if reason != "" {
		return verdict{status: beckon.SendSkipped, reason: reason}
	}
	return verdict{kind: kind, to: to}
}

// settle ends or snoozes the send as a settled verdict says.
func (a *attempt) settle(ctx context.Context, v verdict) error {
	if v.status != "" {
		return a.finish(ctx, v.status, v.reason, "")
	}
	return a.snooze(ctx, v.until, v.reason)
}
