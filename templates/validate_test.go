package templates

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/beckonhealth/beckon"
)

// bomb is the campaign content of issue 9: 391 bytes of nested printf calls
// that, executed, would build a 10 GB string.
var bomb = func() string {
	b, err := os.ReadFile("testdata/bomb.tmpl")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestValidate(t *testing.T) {
	ok := beckon.Content{Subject: "Visit {{.Appointment.Date}}", Text: "Hi {{.Patient.FirstName}}", HTML: "<p>Hi</p>"}
	for _, tc := range []struct {
		name    string
		channel beckon.Channel
		cs      beckon.Contents
		want    []string // substrings of the error, in order; none: valid
		is      error
	}{
		{"valid", beckon.ChannelEmail, beckon.Contents{"en": ok, "es": ok}, nil, nil},
		{"sms needs no subject", beckon.ChannelSMS, beckon.Contents{"en": {Text: "Hi"}}, nil, nil},
		{"unknown field", beckon.ChannelSMS, beckon.Contents{"en": ok, "es": {Text: "Hola {{.Patient.Nmae}}"}},
			[]string{"templates: es: text: ", ".Patient has no field Nmae; its fields are FirstName, LastName"}, nil},
		{"unknown function", beckon.ChannelEmail, beckon.Contents{"en": {Subject: "{{shout .Clinic.Name}}", Text: "t"}},
			[]string{"templates: en: subject: ", `function "shout" not defined`}, nil},
		{"bad syntax", beckon.ChannelEmail, beckon.Contents{"en": {Subject: "s", Text: "t", HTML: "<p>{{if .Clinic.Name}}</p>"}},
			[]string{"templates: en: html: ", "unexpected EOF"}, nil},
		{"missing subject", beckon.ChannelEmail, beckon.Contents{"es": {Text: "Hola"}},
			[]string{"templates: es: subject: required but empty"}, ErrRequired},
		{"preferred needs a subject", beckon.ChannelPreferred, beckon.Contents{"en": {Text: "Hi"}},
			[]string{"templates: en: subject: required"}, ErrRequired},
		{"missing text", beckon.ChannelSMS, beckon.Contents{"en": {Subject: "s"}},
			[]string{"templates: en: text: required"}, ErrRequired},
		{"sms subject still checked", beckon.ChannelSMS, beckon.Contents{"en": {Subject: "{{.Nope}}", Text: "Hi"}},
			[]string{"templates: en: subject: ", "has no field Nope"}, nil},
		{"slice, which fails on short names", beckon.ChannelSMS, beckon.Contents{"en": {Text: `Hi {{slice .Patient.FirstName 0 4}}`}},
			[]string{"templates: en: text: message:1:5: ", `function "slice" is not allowed`}, ErrNotAllowed},
		{"the issue's 391-byte bomb", beckon.ChannelSMS, beckon.Contents{"en": {Text: bomb}},
			[]string{"templates: en: text: message:1:", `function "printf" is not allowed`}, ErrNotAllowed},
		{"the bomb behind a patient field", beckon.ChannelSMS, beckon.Contents{"en": {Text: `{{if eq .Patient.FirstName "Zed"}}` + bomb + `{{end}}Hi`}},
			[]string{"templates: en: text: message:1:", `function "printf" is not allowed`}, ErrNotAllowed},
		{"the bomb in an email's html", beckon.ChannelEmail, beckon.Contents{"en": {Subject: "s", Text: "t", HTML: `<p>{{if ne .Patient.LastName "Garcia"}}` + bomb + `{{end}}</p>`}},
			[]string{"templates: en: html: message:1:", `function "printf" is not allowed`}, ErrNotAllowed},
		{"a method of the start time", beckon.ChannelSMS, beckon.Contents{"en": {Text: `{{.Appointment.Start.Format "Jan 2"}}`}},
			[]string{"templates: en: text: message:1:", ".Appointment.Start.Format is a method; calling methods is not allowed"}, ErrNotAllowed},
		{"renders empty", beckon.ChannelSMS, beckon.Contents{"en": {Text: "{{if false}}x{{end}}"}},
			[]string{"templates: en: text: renders as empty text"}, ErrEmpty},
		{"range", beckon.ChannelSMS, beckon.Contents{"en": {Text: "{{range 3}}x{{end}}"}},
			[]string{"templates: en: text: message:1:", "range is not allowed"}, ErrNotAllowed},
		{"every problem reported", beckon.ChannelEmail, beckon.Contents{"en": {Text: "{{.X}}"}, "es": {Subject: "s", Text: "t", HTML: "{{"}},
			[]string{"templates: en: subject: required", "templates: en: text: ", "templates: es: html: "}, nil},
		{"empty language key", beckon.ChannelSMS, beckon.Contents{"": {Text: "Hi"}},
			[]string{`templates: "": empty language tag`}, nil},
		{"no content", beckon.ChannelSMS, beckon.Contents{}, []string{"no content"}, ErrNoContent},
		{"unknown channel", "fax", beckon.Contents{"en": ok}, []string{`unknown channel "fax"`}, ErrChannel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.channel, tc.cs)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate: no error")
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q lacks %q (in order)", msg, w)
				}
				rest = rest[i+len(w):]
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", msg, tc.is)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %q holds no *Error", msg)
			}
		})
	}
}
