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
	// Choices are the options of a which-appointment question, in order,
	// added with AddChoice. Templates cannot reach a list (no range, no
	// index): they print ChoiceList, the options written out.
	Choices []Choice
	// ChoiceList is Choices in the patient's language, ready to follow
	// "Reply": "1 for Ana on Wed 9/16 at 10:30 AM, 2 for Leo on Wed 9/16 at
	// 11:00 AM" / "1 para Ana el mié 16/9 a las 10:30, 2 para Leo …". Empty
	// without choices.
	ChoiceList string
	// Links are the email's signed links, absolute URLs: the worker sets
	// them on every email about an appointment (empty in SMS, and when
	// the worker has no link keys). A template shows them with
	// {{with .Links.Confirm}}…{{end}} so that it renders without them.
	Links LinksData
}

// LinksData are an email's links: confirm or cancel the appointment (they
// work once, until it starts), and unsubscribe from the clinic's emails
// (60 days; also the List-Unsubscribe header).
type LinksData struct {
	Confirm, Cancel, Unsubscribe string
}

// SampleLinks are links of the form the worker makes, for previews, checks
// and tests.
func SampleLinks() LinksData {
	return LinksData{
		Confirm:     "https://beckon.example.org/l/confirm-token",
		Cancel:      "https://beckon.example.org/l/cancel-token",
		Unsubscribe: "https://beckon.example.org/l/unsubscribe-token",
	}
}

// Choice is one option of a which-appointment question: the number the
// patient replies and the appointment it stands for.
type Choice struct {
	Number    int    // 1, 2, …: what the patient replies
	FirstName string // the first name of the patient the appointment is for
	Weekday   string // short, in the patient's language: "Wed" / "mié"
	Day       string // month and day, short: "9/16" / "16/9"
	Date      string // as AppointmentData.Date: "Wednesday, September 16"
	Time      string // as AppointmentData.Time: "10:30 AM" / "10:30"
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
	// InboxHours says when the clinic reads patients' messages, in the
	// message's language ("weekdays 8 AM to 5 PM"): the clinic's
	// InboxHours in that language, else empty. The built-in answers print
	// "during office hours" / "en horario de oficina" when it is empty.
	InboxHours string
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
		Clinic: ClinicData{Name: c.Name, Phone: formatPhone(c.Phone), InboxHours: c.InboxHours[lang]},
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

// AddChoice appends to d's which-appointment question the option for
// patient p's appointment a, shown in loc (nil means UTC) and lang, and
// rewrites d.ChoiceList. The option's number is its place, from 1.
func (d *Data) AddChoice(p beckon.Patient, a beckon.Appointment, loc *time.Location, lang string) {
	if loc == nil {
		loc = time.UTC
	}
	l := localeFor(lang)
	start := a.Start.In(loc)
	c := Choice{Number: len(d.Choices) + 1, FirstName: p.FirstName}
	if !a.Start.IsZero() {
		c.Weekday = l.shortWeekdays[start.Weekday()]
		c.Day = l.shortDay(start)
		c.Date = l.date(l, start)
		c.Time = l.clock(start)
	}
	d.Choices = append(d.Choices, c)
	parts := make([]string, len(d.Choices))
	for i, c := range d.Choices {
		parts[i] = l.choice(c)
	}
	d.ChoiceList = strings.Join(parts, ", ")
}
