package templates

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

func TestRenderEscapesHTMLOnly(t *testing.T) {
	d := SampleData("en")
	d.Patient.FirstName = `<script>alert("x")</script>`
	c := beckon.Content{
		Subject: "For {{.Patient.FirstName}}",
		Text:    "Hi {{.Patient.FirstName}}",
		HTML:    "<p>Hi {{.Patient.FirstName}}</p>",
	}
	r, err := Render(beckon.ChannelEmail, c, d)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<p>Hi &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>`; r.HTML != want {
		t.Errorf("HTML = %q, want %q", r.HTML, want)
	}
	if want := `Hi <script>alert("x")</script>`; r.Text != want {
		t.Errorf("Text = %q, want %q", r.Text, want)
	}
	if want := `For <script>alert("x")</script>`; r.Subject != want {
		t.Errorf("Subject = %q, want %q", r.Subject, want)
	}
}

func TestRender(t *testing.T) {
	d := SampleData("en")
	for _, tc := range []struct {
		name    string
		channel beckon.Channel
		c       beckon.Content
		edit    func(*Data)
		want    Rendered
		wantErr error  // matched with errors.Is
		errPart string // the *Error's part
	}{
		{
			name:    "sms trims and ignores email parts",
			channel: beckon.ChannelSMS,
			c:       beckon.Content{Subject: "S", Text: "\n  Hi {{.Patient.FirstName}}  \n", HTML: "<p>x</p>"},
			want:    Rendered{Text: "Hi Maria"},
		},
		{
			name:    "subject is one line",
			channel: beckon.ChannelEmail,
			c:       beckon.Content{Subject: "Visit\r\n with {{.Appointment.Provider}}\nBcc: x@example.com", Text: "t"},
			edit:    func(d *Data) { d.Appointment.Provider = "Dr.\nPatel" },
			want:    Rendered{Subject: "Visit with Dr. Patel Bcc: x@example.com", Text: "t"},
		},
		{
			name:    "email without html",
			channel: beckon.ChannelEmail,
			c:       beckon.Content{Subject: "{{.Clinic.Name}}", Text: "{{.Appointment.Date}} {{.Appointment.Time}}"},
			want:    Rendered{Subject: "Riverside Family Medicine", Text: "Monday, March 9 3:30 PM"},
		},
		{
			name:    "if and with",
			channel: beckon.ChannelSMS,
			c:       beckon.Content{Text: "{{with .Appointment.Provider}}with {{.}}{{else}}no one{{end}}{{if eq .Appointment.Weekday `Monday`}} Monday{{end}}"},
			edit:    func(d *Data) { d.Appointment.Provider = "" },
			want:    Rendered{Text: "no one Monday"},
		},
		{
			name:    "email needs a subject",
			channel: beckon.ChannelEmail,
			c:       beckon.Content{Text: "t"},
			wantErr: ErrRequired, errPart: PartSubject,
		},
		{
			name:    "sms needs text",
			channel: beckon.ChannelSMS,
			c:       beckon.Content{Subject: "s", Text: "  "},
			wantErr: ErrRequired, errPart: PartText,
		},
		{
			name:    "text that renders empty",
			channel: beckon.ChannelSMS,
			c:       beckon.Content{Text: "{{.Appointment.Provider}}"},
			edit:    func(d *Data) { d.Appointment.Provider = "" },
			wantErr: ErrEmpty, errPart: PartText,
		},
		{
			name:    "preferred must be resolved first",
			channel: beckon.ChannelPreferred,
			c:       beckon.Content{Text: "t"},
			wantErr: ErrChannel,
		},
		{
			name:    "range is rejected",
			channel: beckon.ChannelSMS,
			c:       beckon.Content{Text: "{{range 1000000000}}{{end}}x"},
			wantErr: ErrNotAllowed, errPart: PartText,
		},
		{
			name:    "define is rejected",
			channel: beckon.ChannelEmail,
			c:       beckon.Content{Subject: "s", Text: "t", HTML: `{{define "a"}}x{{end}}{{template "a"}}`},
			wantErr: ErrNotAllowed, errPart: PartHTML,
		},
		{
			name:    "block is rejected",
			channel: beckon.ChannelSMS,
			c:       beckon.Content{Text: `{{block "a" .}}x{{end}}`},
			wantErr: ErrNotAllowed, errPart: PartText,
		},
		{
			name:    "output is bounded",
			channel: beckon.ChannelSMS,
			c:       beckon.Content{Text: strings.Repeat("{{.Clinic.Name}}", 100)},
			edit:    func(d *Data) { d.Clinic.Name = strings.Repeat("x", 4<<10) },
			wantErr: ErrTooLarge, errPart: PartText,
		},
		{
			name:    "a function's value is bounded",
			channel: beckon.ChannelSMS,
			c:       beckon.Content{Text: `{{if eq .Patient.FirstName "Al"}}{{upper .Appointment.Location}}{{end}}Hi`},
			edit: func(d *Data) {
				d.Patient.FirstName = "Al"
				d.Appointment.Location = strings.Repeat("x", maxValue+1)
			},
			wantErr: ErrTooLarge, errPart: PartText,
		},
		{
			name:    "source is bounded",
			channel: beckon.ChannelSMS,
			c:       beckon.Content{Text: strings.Repeat("a", maxSource+1)},
			wantErr: ErrTooLarge, errPart: PartText,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := d
			if tc.edit != nil {
				tc.edit(&d)
			}
			got, err := Render(tc.channel, tc.c, d)
			if tc.wantErr != nil {
				var e *Error
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &e) || e.Part != tc.errPart {
					t.Fatalf("err = %v, want %v in part %q", err, tc.wantErr, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestRenderUnknownField(t *testing.T) {
	_, err := Render(beckon.ChannelSMS, beckon.Content{Text: "Hi {{.Patient.Nmae}}"}, SampleData("en"))
	var e *Error
	if !errors.As(err, &e) || e.Part != PartText || !strings.Contains(err.Error(), "Nmae") {
		t.Fatalf("err = %v, want a text error naming Nmae", err)
	}
}

func TestRenderCachesParses(t *testing.T) {
	c := beckon.Content{
		Subject: "cache test {{.Clinic.Name}}",
		Text:    "cache test {{.Patient.FirstName}}",
		HTML:    "<p>cache test {{.Patient.FirstName}}</p>",
	}
	_, _, before := cache.stats()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, err := Render(beckon.ChannelEmail, c, SampleData("en")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Three parts; goroutines racing on the first miss may each parse once.
	if _, _, after := cache.stats(); after-before < 3 || after-before > 3*8 {
		t.Errorf("%d parses for 800 renders of 3 parts, want 3 to 24", after-before)
	}
	_, _, before = cache.stats()
	for range 1000 {
		Render(beckon.ChannelEmail, c, SampleData("es"))
	}
	if _, _, after := cache.stats(); after != before {
		t.Errorf("%d parses for cached renders, want 0", after-before)
	}
}

func TestParseCacheBounded(t *testing.T) {
	c := newParseCache(4, 100)
	for i := range 20 {
		c.get(cacheKey{kind: kindText, src: fmt.Sprintf("entry %02d", i)}, parseSource)
	}
	if n, bytes, parses := c.stats(); n != 4 || bytes != 4*len("entry 00") || parses != 20 {
		t.Errorf("stats = %d entries, %d bytes, %d parses; want 4, 32, 20", n, bytes, parses)
	}
	// The most recent entries stay; a hit refreshes an entry.
	c.get(cacheKey{kind: kindText, src: "entry 16"}, parseSource)
	c.get(cacheKey{kind: kindText, src: "new"}, parseSource)
	c.get(cacheKey{kind: kindText, src: "entry 16"}, parseSource)
	if _, _, parses := c.stats(); parses != 21 {
		t.Errorf("parses = %d, want 21: entry 16 should have stayed", parses)
	}
	// The byte bound evicts too; a source larger than it is not kept.
	c.get(cacheKey{kind: kindText, src: strings.Repeat("x", 90)}, parseSource)
	if n, bytes, _ := c.stats(); n != 2 || bytes != 90+len("entry 16") {
		t.Errorf("stats = %d entries, %d bytes; want 2, 98", n, bytes)
	}
	c.get(cacheKey{kind: kindText, src: strings.Repeat("y", 101)}, parseSource)
	if n, bytes, _ := c.stats(); n != 2 || bytes != 98 {
		t.Errorf("stats = %d entries, %d bytes; want 2, 98", n, bytes)
	}
	// Text and HTML of the same source are different templates.
	p := c.get(cacheKey{kind: kindHTML, src: "new"}, parseSource)
	q := c.get(cacheKey{kind: kindText, src: "new"}, parseSource)
	if p.tmpl == q.tmpl {
		t.Error("text and html kinds share an entry")
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"Hi {{.Patient.FirstName}}", "{{.Patient.Nmae}}", "{{if}}", "{{", "}}{{end}}",
		`{{with .Appointment}}{{.Date}}{{end}}`, `<a href="{{.Clinic.Name}}">x</a>`,
		`<script>var x = {{.Patient.FirstName}};</script>`, `{{range 3}}{{end}}`,
		`{{printf "%0900000d" 1}}`, `{{.Appointment.Start.Format "2006"}}`, `{{call .Patient}}`,
		`{{define "a"}}{{template "a"}}{{end}}{{template "a"}}`,
	} {
		f.Add(s)
	}
	d := SampleData("en")
	d.Patient.FirstName = `<b>"O'Brien"</b>`
	f.Fuzz(func(t *testing.T, src string) {
		c := beckon.Content{Subject: src, Text: src, HTML: src}
		Render(beckon.ChannelEmail, c, d)
		Render(beckon.ChannelSMS, c, d)
		Validate(beckon.ChannelPreferred, beckon.Contents{"en": c})
	})
}

// panicking is a template whose execution panics as a runtime error would.
type panicking struct{}

func (panicking) Execute(io.Writer, any) error {
	var m map[string]int
	m["x"]++ // assignment to entry in nil map
	return nil
}

// slowWriting writes again and again, as a template that never ends would.
type slowWriting struct{}

func (slowWriting) Execute(w io.Writer, _ any) error {
	for {
		if _, err := w.Write([]byte("x")); err != nil {
			return err
		}
	}
}

func TestRunBounded(t *testing.T) {
	t.Parallel()
	t.Run("a panic is an error", func(t *testing.T) {
		t.Parallel()
		if _, err := run(panicking{}, SampleData("en"), time.Now); !errors.Is(err, ErrPanicked) {
			t.Fatalf("err = %v, want ErrPanicked", err)
		}
	})
	t.Run("time is bounded", func(t *testing.T) {
		t.Parallel()
		now := time.Date(2026, 3, 9, 15, 30, 0, 0, time.UTC)
		clock := func() time.Time { now = now.Add(time.Millisecond); return now }
		_, err := run(slowWriting{}, SampleData("en"), clock)
		if !errors.Is(err, ErrTooSlow) {
			t.Fatalf("err = %v, want ErrTooSlow", err)
		}
	})
	t.Run("output is bounded", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		_, err := run(slowWriting{}, SampleData("en"), func() time.Time { return start })
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
}
