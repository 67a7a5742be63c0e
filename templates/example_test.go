package templates_test

import (
	"fmt"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/templates"
)

func ExampleRender() {
	clinic := beckon.Clinic{Name: "Riverside Family Medicine", Phone: "+15550102000"}
	patient := beckon.Patient{FirstName: "Ana", Language: "es-MX"}
	appt := beckon.Appointment{
		Start:    time.Date(2026, time.March, 9, 21, 30, 0, 0, time.UTC),
		Provider: "Dr. Patel",
	}
	loc := time.FixedZone("CST", -6*60*60) // in production: the patient's IANA zone

	cs, _ := templates.Builtin("appointment_reminder_confirm")
	content, lang := templates.Select(cs, patient.Language)
	data := templates.NewDataLang(clinic, patient, appt, loc, lang)
	r, err := templates.Render(beckon.ChannelSMS, content, data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(lang)
	fmt.Println(r.Text)
	// Output:
	// es
	// Riverside Family Medicine: Hola Ana, tiene una cita con Dr. Patel el lunes, 9 de marzo a las 15:30. Responda SI para confirmar, 2 para cancelar, 3 para cambiarla. Baja: STOP
}

func ExampleSegments() {
	for _, text := range []string{
		"Reply C to confirm.",
		"Costo: 10€",            // € takes two septets
		"Su cita es el sábado.", // á is not in GSM-7
		"See you soon 😀",        // an emoji is two UTF-16 units
	} {
		enc, parts, units := templates.Segments(text)
		fmt.Printf("%s: %d part(s), %d units\n", enc, parts, units)
	}
	// Output:
	// GSM-7: 1 part(s), 19 units
	// GSM-7: 1 part(s), 11 units
	// UCS-2: 1 part(s), 21 units
	// UCS-2: 1 part(s), 15 units
}

func ExampleValidate() {
	err := templates.Validate(beckon.ChannelEmail, beckon.Contents{
		"en": {Subject: "Your visit", Text: "Hi {{.Patient.Nmae}}"},
		"es": {Text: "Hola {{.Patient.FirstName}}"},
	})
	fmt.Println(err)
	// Output:
	// templates: en: text: message:1:13: .Patient has no field Nmae; its fields are FirstName, LastName
	// templates: es: subject: required but empty
}

// Clinic content may format with upper, lower, title, trim, default and
// date, branch with if/else/with and compare with eq, ne, lt, le, gt, ge.
func ExampleRender_functions() {
	data := templates.SampleData("en")
	data.Appointment.Provider = ""
	content := beckon.Content{Text: `{{upper .Clinic.Name}}: {{.Patient.FirstName | title}}, ` +
		`your visit with {{.Appointment.Provider | default "our team"}} is on {{.Appointment.Start | date "01/02"}}` +
		`{{if eq .Appointment.Weekday "Saturday" "Sunday"}} (weekend hours){{end}}.`}
	r, err := templates.Render(beckon.ChannelSMS, content, data)
	fmt.Println(r.Text, err)

	// Anything else is refused before it is saved.
	err = templates.Validate(beckon.ChannelSMS, beckon.Contents{"en": {Text: `{{printf "%09d" 1}}`}})
	fmt.Println(err)
	// Output:
	// RIVERSIDE FAMILY MEDICINE: Maria, your visit with our team is on 03/09. <nil>
	// templates: en: text: message:1:2: function "printf" is not allowed in message templates; use and, date, default, eq, ge, gt, le, len, lower, lt, ne, not, or, title, trim, upper
}
