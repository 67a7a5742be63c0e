package templates

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

func TestNewDataLocalized(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	c := beckon.Clinic{Name: "Riverside", Phone: "+15550102000"}
	for _, tc := range []struct {
		name                       string
		lang                       string
		start                      time.Time
		dur                        time.Duration
		date, clock, weekday, span string
	}{
		{"english", "en", time.Date(2026, 3, 9, 19, 30, 0, 0, time.UTC), 30 * time.Minute,
			"Monday, March 9", "3:30 PM", "Monday", "30 minutes"},
		{"spanish", "es", time.Date(2026, 3, 9, 19, 30, 0, 0, time.UTC), 90 * time.Minute,
			"lunes, 9 de marzo", "15:30", "lunes", "1 hora 30 minutos"},
		{"regional Spanish", "es-MX", time.Date(2026, 3, 14, 14, 0, 0, 0, time.UTC), time.Hour,
			"sábado, 14 de marzo", "10:00", "sábado", "1 hora"},
		{"unknown language is English", "fr", time.Date(2026, 3, 9, 13, 5, 0, 0, time.UTC), 2 * time.Hour,
			"Monday, March 9", "9:05 AM", "Monday", "2 hours"},
		{"empty language is English", "", time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC), time.Minute,
			"Thursday, January 1", "12:00 AM", "Thursday", "1 minute"},
		// 2026-03-08 is the spring-forward day: 07:30 UTC is 03:30 EDT.
		{"after spring forward", "en", time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), 0,
			"Sunday, March 8", "3:30 AM", "Sunday", ""},
		// 04:30 UTC on March 8 is still 23:30 EST on March 7.
		{"the zone's date, not UTC's", "es", time.Date(2026, 3, 8, 4, 30, 0, 0, time.UTC), 20 * time.Second,
			"sábado, 7 de marzo", "23:30", "sábado", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := beckon.Patient{FirstName: "Ana", LastName: "Ruiz", Language: tc.lang}
			a := beckon.Appointment{Start: tc.start, Duration: tc.dur, Provider: "Dr. Patel"}
			d := NewData(c, p, a, ny)
			got := d.Appointment
			if got.Date != tc.date || got.Time != tc.clock || got.Weekday != tc.weekday || got.Duration != tc.span {
				t.Errorf("got %q, %q, %q, %q; want %q, %q, %q, %q",
					got.Date, got.Time, got.Weekday, got.Duration, tc.date, tc.clock, tc.weekday, tc.span)
			}
			if !got.Start.Equal(tc.start) || got.Start.Location() != ny {
				t.Errorf("Start = %v, want %v in %v", got.Start, tc.start, ny)
			}
			if d.Patient.FirstName != "Ana" || d.Clinic.Phone != "(555) 010-2000" || got.Provider != "Dr. Patel" {
				t.Errorf("copied fields wrong: %+v", d)
			}
		})
	}
}

// TestNewDataNames: templates show the provider's and location's names,
// the ids when the source sent none, and never the notes.
func TestNewDataNames(t *testing.T) {
	named := beckon.Appointment{Provider: "777", ProviderName: "Dr. Ana Rivera", Location: "MAIN", LocationName: "Main Street Clinic",
		Notes: "Patient is anxious about needles."}
	got := NewData(beckon.Clinic{}, beckon.Patient{}, named, nil).Appointment
	if got.Provider != "Dr. Ana Rivera" || got.Location != "Main Street Clinic" || got.ProviderID != "777" || got.LocationID != "MAIN" {
		t.Errorf("named: %+v", got)
	}
	got = NewData(beckon.Clinic{}, beckon.Patient{}, beckon.Appointment{Provider: "777", Location: "MAIN"}, nil).Appointment
	if got.Provider != "777" || got.Location != "MAIN" || got.ProviderID != "777" || got.LocationID != "MAIN" {
		t.Errorf("ids only: %+v", got)
	}
	r, err := Render(beckon.ChannelSMS, beckon.Content{Text: "With {{.Appointment.Provider}} ({{.Appointment.ProviderID}}) at {{.Appointment.Location}}."},
		NewData(beckon.Clinic{}, beckon.Patient{}, named, nil))
	if err != nil || r.Text != "With Dr. Ana Rivera (777) at Main Street Clinic." {
		t.Errorf("rendered %q, %v", r.Text, err)
	}
	if _, err := Render(beckon.ChannelSMS, beckon.Content{Text: "{{.Appointment.Notes}}"}, NewData(beckon.Clinic{}, beckon.Patient{}, named, nil)); err == nil {
		t.Errorf("a template could read the appointment's notes")
	}
}

func TestNewDataLangOverridesPatient(t *testing.T) {
	p := beckon.Patient{Language: "es"}
	a := beckon.Appointment{Start: time.Date(2026, 3, 9, 15, 30, 0, 0, time.UTC)}
	if got := NewDataLang(beckon.Clinic{}, p, a, nil, "en").Appointment.Date; got != "Monday, March 9" {
		t.Errorf("Date = %q, want English", got)
	}
	if got := NewData(beckon.Clinic{}, p, beckon.Appointment{}, nil).Appointment; got.Date != "" || !got.Start.IsZero() {
		t.Errorf("zero start gave %+v, want empty", got)
	}
}

func TestFormatPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+15550102000":  "(555) 010-2000",
		"+442071234567": "+442071234567",
		"+1555010200x":  "+1555010200x",
		"":              "",
		"555-0102":      "555-0102",
	} {
		if got := formatPhone(in); got != want {
			t.Errorf("formatPhone(%q) = %q, want %q", in, got, want)
		}
	}
}
