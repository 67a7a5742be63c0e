package feeds

import (
	"cmp"
	"strings"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/scheduler"
)

// EventFromSIU translates a mapped SIU message into the change the scheduler decides.
func EventFromSIU(ev ehr.Event, digest string) scheduler.FeedEvent {
	out := scheduler.FeedEvent{
		Appointment: beckon.Appointment{
			ID:           ev.AppointmentID,
			Start:        ev.Start,
			Duration:     ev.Duration,
			Type:         cmp.Or(ev.Type.Code, ev.Type.Text),
			Provider:     cmp.Or(ev.Provider.ID, ev.Provider.Display),
			ProviderName: ev.Provider.Display,
			Location:     cmp.Or(ev.Location.ID, ev.Location.Facility, ev.Location.Description),
			LocationName: ev.Location.Description,
			Notes:        ev.Notes,
			Status:       siuStatus(ev),
		},
		Patient: beckon.Patient{
			ID:        ev.Patient.ID,
			FirstName: ev.Patient.FirstName,
			LastName:  ev.Patient.LastName,
			Phone:     ev.Patient.Phone,
			Email:     ev.Patient.Email,
			Language:  ev.Patient.Language,
		},
		SourceAt: ev.MessageTime,
		Digest:   digest,
	}
	switch ev.Kind {
	case ehr.KindCancel, ehr.KindDelete, ehr.KindNoShow:
		out.Partial = true
	}
	return out
}

// siuStatus is the Beckon status an SIU event means: the trigger decides for
// cancellations and no-shows, else the filler status (SCH-25).
func siuStatus(ev ehr.Event) beckon.AppointmentStatus {
	switch ev.Kind {
	case ehr.KindCancel, ehr.KindDelete:
		return beckon.StatusCancelled
	case ehr.KindNoShow:
		return beckon.StatusNoShow
	}
	switch strings.ToLower(ev.Status) {
	case "cancelled", "canceled", "deleted", "blocked":
		return beckon.StatusCancelled
	case "noshow", "no-show", "no show":
		return beckon.StatusNoShow
	case "complete", "completed", "fulfilled":
		return beckon.StatusFulfilled
	case "arrived", "started", "checked in", "checkedin":
		return beckon.StatusArrived
	}
	return beckon.StatusBooked
}
