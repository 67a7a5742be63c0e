package templates

import (
	"errors"
	"strings"
	"testing"

	"github.com/beckonhealth/beckon"
)

// TestAllowListAccepts renders what message templates may do, with the
// output it gives for Maria Garcia's visit on Monday, March 9, 2026.
func TestAllowListAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ src, want string }{
		{"Hi {{.Patient.FirstName}}, see you at {{.Appointment.Time}} at {{.Clinic.Name}}.",
			"Hi Maria, see you at 3:30 PM at Riverside Family Medicine."},
		{"{{with .Patient}}{{.FirstName}} {{.LastName}}{{end}}", "Maria Garcia"},
		{"{{with .Appointment.Provider}}with {{.}}{{else}}with us{{end}}", "with Dr. Patel"},
		{"{{with .Patient}}{{$.Clinic.Name}}{{end}}", "Riverside Family Medicine"},
		{"{{$p := .Patient}}{{$p.FirstName}}", "Maria"},
		{"{{(.Patient).LastName}}", "Garcia"},
		{`{{if eq .Patient.FirstName "Ana" "Maria"}}yes{{else}}no{{end}}`, "yes"},
		{`{{if and (ne .Clinic.Name "") (not false) (gt (len .Patient.FirstName) 3)}}long{{end}}`, "long"},
		{`{{if lt .Patient.FirstName "N"}}A-M{{else if ge .Patient.FirstName "N"}}N-Z{{end}}`, "A-M"},
		{`{{or .Appointment.Type "visit"}}`, "Annual physical"},
		{"{{upper .Patient.FirstName}} {{.Clinic.Name | lower}}", "MARIA riverside family medicine"},
		{`{{title "maria de la o'neil"}}`, "Maria De La O'Neil"},
		{`{{"  Dr. Patel  " | trim}}!`, "Dr. Patel!"},
		{`{{.Patient.LastName | default "friend"}} {{"" | default "friend"}}`, "Garcia friend"},
		{`{{.Appointment.Start | date "01/02/2006 15:04"}} {{date "Mon" .Appointment.Start}}`, "03/09/2026 15:30 Mon"},
		{`{{$g := "Hi"}}{{if .Patient.FirstName}}{{$g = "Hello"}}{{end}}{{$g}}`, "Hello"},
		{`{{with $n := .Patient.FirstName}}{{$n}}{{end}}`, "Maria"},
		{`{{/* a note for staff */}}ok`, "ok"},
	} {
		got, err := Render(beckon.ChannelSMS, beckon.Content{Text: tc.src}, SampleData("en"))
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if got.Text != tc.want {
			t.Errorf("%s = %q, want %q", tc.src, got.Text, tc.want)
		}
	}
}

// TestAllowListRejects checks that everything else is refused when parsed,
// with an error that says what and where.
func TestAllowListRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src  string
		want string // in the error
		is   error  // wrapped by the error, if not nil
	}{
		{`{{printf "%d" 1}}`, `message:1:2: function "printf" is not allowed`, ErrNotAllowed},
		{`{{print .Patient.FirstName .Patient.FirstName}}`, `function "print" is not allowed`, ErrNotAllowed},
		{`{{println .Patient.FirstName}}`, `function "println" is not allowed`, ErrNotAllowed},
		{`{{slice .Patient.FirstName 0 4}}`, `function "slice" is not allowed`, ErrNotAllowed},
		{`{{index .Patient.FirstName 0}}`, `function "index" is not allowed`, ErrNotAllowed},
		{`{{call .Patient}}`, `function "call" is not allowed`, ErrNotAllowed},
		{`{{html .Patient.FirstName}}`, `function "html" is not allowed`, ErrNotAllowed},
		{`{{js .Patient.FirstName}}`, `function "js" is not allowed`, ErrNotAllowed},
		{`{{.Patient.FirstName | urlquery}}`, `function "urlquery" is not allowed`, ErrNotAllowed},
		{`{{if eq .Patient.FirstName "Zed"}}{{printf "%01000000d" 0}}{{end}}`, `function "printf" is not allowed`, ErrNotAllowed},
		{`{{eq (printf "x") "x"}}`, `function "printf" is not allowed`, ErrNotAllowed},
		{`{{.Appointment.Start.Format "2006"}}`, ".Appointment.Start.Format is a method", ErrNotAllowed},
		{`{{.Appointment.Start.AddDate 1 0 0}}`, ".Appointment.Start.AddDate is a method", ErrNotAllowed},
		{`{{with .Appointment.Start}}{{.Year}}{{end}}`, ".Year is a method", ErrNotAllowed},
		{`{{$s := .Appointment.Start}}{{$s.UTC}}`, "$s.UTC is a method", ErrNotAllowed},
		{`{{range 3}}x{{end}}`, "range is not allowed", ErrNotAllowed},
		{`{{define "a"}}x{{end}}{{template "a"}}`, "define and block are not allowed", ErrNotAllowed},
		{`{{block "a" .}}x{{end}}`, "define and block are not allowed", ErrNotAllowed},
		{`{{define "message"}}{{template "message"}}{{end}}`, "template is not allowed", ErrNotAllowed},
		{`{{eq nil nil}}`, "nil is not allowed", ErrNotAllowed},
		{`{{eq 1.5 1.5}}`, "number 1.5 is not allowed", ErrNotAllowed},
		{`{{.Patient.Nmae}}`, ".Patient has no field Nmae; its fields are FirstName, LastName", nil},
		{`{{.Patient.FirstName.Initial}}`, ".Patient.FirstName is text and has no field Initial", nil},
		{`{{with .Patient}}{{.Name}}{{end}}`, "dot (.) has no field Name", nil},
		{`{{.Patient.FirstName "x"}}`, "is not a function and takes no arguments", nil},
		{`{{"x" | .Patient.FirstName}}`, "is not a function and takes no arguments", nil},
		{`{{$x := .Patient}}{{if .Clinic.Name}}{{$x = "s"}}{{end}}{{$x.FirstName}}`, "cannot tell what $x is", nil},
		{`{{with or .Patient .Clinic}}{{.Name}}{{end}}`, "cannot tell what dot (.) is", nil},
		{`{{upper 1}}`, "argument 1 of upper must be text, not a number", nil},
		{`{{upper .Patient}}`, "argument 1 of upper must be text, not a group of fields", nil},
		{`{{upper}}`, "upper takes 1 argument, not 0", nil},
		{`{{default "x"}}`, "default takes 2 arguments, not 1", nil},
		{`{{eq .Patient.FirstName}}`, "eq takes at least 2 arguments, not 1", nil},
		{`{{lt 1 2 3}}`, "lt takes 2 arguments, not 3", nil},
		{`{{not}}`, "not takes 1 argument, not 0", nil},
		{`{{eq .Patient.FirstName 3}}`, "eq cannot compare text with a number", nil},
		{`{{eq .Appointment.Start .Appointment.Start}}`, "eq cannot compare a time", nil},
		{`{{lt true false}}`, "lt cannot compare true/false", nil},
		{`{{len .Appointment.Start}}`, "len takes text, not a time", nil},
		{`{{date .Clinic.Name .Appointment.Start}}`, "the layout of date must be written in quotes", nil},
		{`{{date "2006" .Patient.FirstName}}`, "argument 2 of date must be a time, not text", nil},
		{`{{date "` + strings.Repeat("1", maxLayout+1) + `" .Appointment.Start}}`, "date layout too large", ErrTooLarge},
		{strings.Repeat(`{{upper "x"}}`, maxCalls+1), "too large: more than 256 function calls", ErrTooLarge},
	} {
		for _, k := range []kind{kindText, kindHTML} {
			p := parseSource(k, tc.src)
			if p.err == nil || tc.is != nil && !errors.Is(p.err, tc.is) || !strings.Contains(p.err.Error(), tc.want) {
				t.Errorf("kind %d: %s:\n got %v\nwant %q (%v)", k, tc.src, p.err, tc.want, tc.is)
			}
		}
	}
}

// TestBuiltinsFollowTheRules: the built-in templates go through the same
// checks as a clinic's content.
func TestBuiltinsFollowTheRules(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		cs, _ := Builtin(name)
		for lang, c := range cs {
			for _, p := range []struct {
				k   kind
				src string
			}{{kindText, c.Subject}, {kindText, c.Text}, {kindHTML, c.HTML}} {
				if err := parseSource(p.k, p.src).err; err != nil {
					t.Errorf("%s %s: %v", name, lang, err)
				}
			}
		}
	}
}
