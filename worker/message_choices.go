package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/templates"
)

// choice is one option of a which-appointment question: the appointment and
// its patient.
type choice struct {
	patient beckon.Patient
	appt    beckon.Appointment
}

// loadChoices reads the appointments (and their patients) a message send's
// which-appointment question offers, within its clinic. An option whose
// appointment or patient is gone is left out: the numbers the patient sees
// are those of the options that remain, so the question is re-asked rather
// than answered wrongly (the conversation keeps the ids it offered).
func (a *attempt) loadChoices(ctx context.Context) ([]choice, error) {
	raw := a.message.Data[beckon.MessageDataChoices]
	if raw == "" {
		return nil, nil
	}
	var out []choice
	for _, id := range strings.Split(raw, "\n") {
		appt, err := a.d.store.AppointmentGet(ctx, a.send.ClinicID, id)
		if errors.Is(err, beckon.ErrNotFound) {
			return nil, errChoiceGone
		}
		if err != nil {
			return nil, fmt.Errorf("load a choice's appointment: %w", err)
		}
		p, err := a.d.store.PatientGet(ctx, a.send.ClinicID, appt.PatientID)
		if errors.Is(err, beckon.ErrNotFound) {
			return nil, errChoiceGone
		}
		if err != nil {
			return nil, fmt.Errorf("load a choice's patient: %w", err)
		}
		out = append(out, choice{patient: p, appt: appt})
	}
	return out, nil
}

// errChoiceGone: an appointment the question offers is gone; the question
// would number the options differently from the conversation's record.
var errChoiceGone = errors.New("an appointment the question offers no longer exists")

// addChoices writes the options into the template data, each in its
// patient's time zone.
func addChoices(d *templates.Data, c beckon.Clinic, cs []choice, lang string) {
	for _, ch := range cs {
		d.AddChoice(ch.patient, ch.appt, scheduler.Location(c, ch.patient), lang)
	}
}
