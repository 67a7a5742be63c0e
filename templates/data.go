package templates

import (
	"cmp"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
)

// Data is what a template sees: {{.Patient.FirstName}}, {{.Appointment.Date}},
// {{.Clinic.Name}}. Every field is a string except Appointment.Start.
type Data struct {
	Patient     PatientData
	Appointment AppointmentData
	Clinic      ClinicData
}

// PatientData is the patient as a template sees it.
type PatientData struct {
	FirstName, LastName string
}

// AppointmentData is the appointment in the patient's zone and language.
// The appointment's notes are for staff and are not here: no template can
// show them to a patient.
type AppointmentData struct {
	Start    time.Time // in the patient's zone
	Date     string    // "Monday, March 9" / "lunes, 9 de marzo"
	Time     string    // "3:30 PM" / "15:30"
	Weekday  string    // "Monday" / "lunes"
	Duration string    // "30 minutes" / "1 hora 30 minutos"; empty when unknown
	Type     string
	// Provider and Location are the names a patient reads ("Dr. Ana
	// Rivera", "Main Street Clinic"), else the ids when the source sent no
	// name; ProviderID and LocationID are the ids alone.
	Provider   string
	Location   string
	ProviderID string
	LocationID string
}

// ClinicData is the clinic as a template sees it.
type ClinicData struct {
	Name  string
	Phone string // "(555) 010-2000" for +1 numbers, otherwise as stored
}

// NewData builds the data for a message to p about a, localized in the
// patient's language and shown in loc (the patient's zone; nil means UTC).
//
// When the content chosen by Select is in another language than the
// patient's (a fallback), use NewDataLang with the chosen language so that
// dates match the words around them.
func NewData(c beckon.Clinic, p beckon.Patient, a beckon.Appointment, loc *time.Location) Data {
	return NewDataLang(c, p, a, loc, p.Language)
}

// NewDataLang is NewData localized in lang instead of the patient's language.
// Languages without a locale fall back to English.
func NewDataLang(c beckon.Clinic, p beckon.Patient, a beckon.Appointment, loc *time.Location, lang string) Data {
	if loc == nil {
		loc = time.UTC
	}
	l := localeFor(lang)
	d := Data{
		Patient: PatientData{FirstName: p.FirstName, LastName: p.LastName},
		Appointment: AppointmentData{
			Duration:   l.duration(a.Duration),
			Type:       a.Type,
			Provider:   cmp.Or(a.ProviderName, a.Provider),
			Location:   cmp.Or(a.LocationName, a.Location),
			ProviderID: a.Provider,
			LocationID: a.Location,
		},
		Clinic: ClinicData{Name: c.Name, Phone: formatPhone(c.Phone)},
	}
	if !a.Start.IsZero() {
		start := a.Start.In(loc)
		d.Appointment.Start = start
		d.Appointment.Date = l.date(l, start)
		d.Appointment.Time = l.clock(start)
		d.Appointment.Weekday = l.weekdays[start.Weekday()]
	}
	return d
}

// formatPhone writes a North American E.164 number as "(555) 010-2000" and
// leaves every other number as it is.
func formatPhone(e164 string) string {
	if len(e164) != 12 || !strings.HasPrefix(e164, "+1") {
		return e164
	}
	n := e164[2:]
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return e164
		}
	}
	return "(" + n[:3] + ") " + n[3:6] + "-" + n[6:]
}
