package templates

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// Bounds FuzzRenderClinicContent holds every render to. They are far above
// what a message needs (kilobytes, microseconds) and far below what a
// template bomb takes (issue 9's 391 bytes asked for 10 GB). The time bound
// is above maxRenderTime, which stops only renders that write: it checks
// that the rules, not the deadline, bound the time.
const (
	fuzzMaxAlloc = 64 << 20 // bytes allocated by one Render
	fuzzMaxTime  = 2 * time.Second
)

// fragments are the pieces FuzzRenderClinicContent builds content from, so
// that it reaches actions, pipelines and functions faster than by mutating
// bytes alone.
var fragments = []string{
	"{{", "}}", " ", "Hi ", "{{end}}", "{{else}}", "(", ")", "|", ":=", "=", "$", "$a", "$b", "$.", ".",
	".Patient", ".FirstName", ".Patient.FirstName", ".Patient.LastName", ".Clinic.Name", ".Clinic.Phone",
	".Appointment.Start", ".Appointment.Date", ".Appointment.Time", ".Appointment.Provider", ".Format", ".Year",
	"if ", "with ", "range ", "define ", "template ", "block ", "break", "nil", "true", "0", "4", "1000000",
	"eq ", "ne ", "lt ", "and ", "or ", "not ", "len ", "upper ", "lower ", "title ", "trim ", "default ", "date ",
	"printf ", "print ", "slice ", "index ", "call ", "html ", "js ", "urlquery ",
	`"x"`, `"%01000000d"`, `"%s%s%s%s"`, `"Jan 2, 2006"`, `"111111111111"`, "<p>", "<a href=\"", "<script>", "\"",
}

// build turns recipe into content, one fragment a byte.
func build(recipe []byte) string {
	var b strings.Builder
	for _, r := range recipe[:min(len(recipe), 256)] {
		b.WriteString(fragments[int(r)%len(fragments)])
	}
	return b.String()
}

// FuzzRenderClinicContent runs clinic content, as written (src) and as
// built from fragments (recipe), through validation and then rendering
// with sample data, and holds every render, valid content or not, to
// bounded output, allocation and time. Content that validates renders with
// the sample data it was validated with.
func FuzzRenderClinicContent(f *testing.F) {
	for _, s := range []string{
		"Hi {{.Patient.FirstName}}, see you at {{.Appointment.Time}} at {{.Clinic.Name}}.",
		bomb,
		`{{if eq .Patient.FirstName "Zed"}}` + bomb + `{{end}}Hi`,
		`{{$a := upper .Clinic.Name}}{{$b := title $a}}{{lower $b}} {{.Appointment.Start | date "Jan 2"}}`,
		`{{with .Appointment.Provider}}with {{.}}{{else}}{{default "us" ""}}{{end}}`,
		`{{date "1111111111111111111111111111111111111111111111111111111111111111" .Appointment.Start}}`,
		`{{.Appointment.Start.Format "2006"}}`, `{{slice .Patient.FirstName 0 4}}`, `{{range 3}}{{end}}`,
		`{{define "a"}}{{template "a"}}{{end}}{{template "a"}}`, `<script>var n = {{.Patient.FirstName}};</script>`,
		strings.Repeat("{{.Clinic.Name}}", 200), strings.Repeat(`{{upper "x"}}`, 300),
	} {
		f.Add(s, []byte{})
	}
	f.Add("", recipe(f, "{{", "$a", " ", ":=", " ", "printf ", `"%01000000d"`, " ", "0", "}}",
		"{{", "if ", "eq ", ".Patient.FirstName", " ", `"x"`, "}}", "{{", "len ", "$a", "}}", "{{end}}"))
	f.Add("", recipe(f, "{{", "with ", ".Appointment.Start", "}}", "{{", "date ", `"Jan 2, 2006"`, " ", ".", "}}",
		"{{", ".Year", "}}", "{{end}}"))
	long := SampleData("en")
	long.Patient.FirstName = strings.Repeat("ȿ", maxValue)
	long.Clinic.Name = strings.Repeat("<&>\"'", maxValue)
	long.Appointment.Provider = strings.Repeat("x", maxOutput)
	datas := []Data{SampleData("en"), SampleData("es"), emptySample, long}
	f.Fuzz(func(t *testing.T, src string, recipe []byte) {
		c := beckon.Content{Subject: src, Text: src, HTML: build(recipe)}
		valid := Validate(beckon.ChannelEmail, beckon.Contents{"en": c}) == nil
		for i, d := range datas {
			for _, ch := range []beckon.Channel{beckon.ChannelSMS, beckon.ChannelEmail} {
				_, err := boundedRender(t, ch, c, d)
				if valid && err != nil && i == 0 {
					t.Errorf("content that validates fails on the sample data: %v", err)
				}
			}
		}
	})
}

// recipe is the recipe that builds frags.
func recipe(f *testing.F, frags ...string) []byte {
	var r []byte
	for _, s := range frags {
		i := slices.Index(fragments, s)
		if i < 0 {
			f.Fatalf("no fragment %q", s)
		}
		r = append(r, byte(i))
	}
	return r
}

// boundedRender is Render, failing t if it takes more than the fuzz bounds.
func boundedRender(t *testing.T, ch beckon.Channel, c beckon.Content, d Data) (Rendered, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	r, err := Render(ch, c, d)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > fuzzMaxAlloc {
		t.Errorf("%s render allocated %d bytes, more than %d", ch, alloc, fuzzMaxAlloc)
	}
	if took > fuzzMaxTime {
		t.Errorf("%s render took %s, more than %s", ch, took, fuzzMaxTime)
	}
	for _, part := range []string{r.Subject, r.Text, r.HTML} {
		if len(part) > maxOutput {
			t.Errorf("%s render gave a part of %d bytes, more than %d", ch, len(part), maxOutput)
		}
	}
	return r, err
}
