package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/links"
	"github.com/beckonhealth/beckon/templates"
)

// EmailLinks makes the signed links every email about an appointment
// carries: confirm and cancel (they work until the appointment starts) and
// unsubscribe (60 days, also the List-Unsubscribe header). Every
// appointment email gets all three; the template decides which it shows
// (the built-in appointment_reminder_confirm shows confirm and cancel
// buttons, every built-in reminder the unsubscribe link).
type EmailLinks struct {
	Keys *links.Keys
	// Base returns Beckon's public base URL, where /l/{token} is served
	// (BECKON_PUBLIC_URL, else the API's own address).
	Base func() string
}

// make returns the links of send s about appointment appt, made at now.
func (e *EmailLinks) make(ctx context.Context, s beckon.Send, appt beckon.Appointment, now time.Time) (templates.LinksData, error) {
	signer, err := e.Keys.Signer(ctx)
	if err != nil {
		return templates.LinksData{}, err
	}
	base := e.Base()
	url := func(action string) (string, error) {
		return signer.URL(base, links.Link{
			ClinicID:      s.ClinicID,
			AppointmentID: appt.ID,
			SendID:        s.ID,
			Action:        action,
			Expires:       links.Expiry(action, appt.Start, now),
		})
	}
	var out templates.LinksData
	if out.Unsubscribe, err = url(links.Unsubscribe); err != nil {
		return out, fmt.Errorf("email links: %w", err)
	}
	if appt.Start.After(now) {
		if out.Confirm, err = url(links.Confirm); err != nil {
			return out, fmt.Errorf("email links: %w", err)
		}
		if out.Cancel, err = url(links.Cancel); err != nil {
			return out, fmt.Errorf("email links: %w", err)
		}
	}
	return out, nil
}
