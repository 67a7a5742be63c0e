package templates

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the fixture's zone, on machines without zoneinfo

	"github.com/beckonhealth/beckon"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixture is the fixed data every golden file is rendered with: an
// appointment at 14:30 UTC, which is 10:30 in New York in September (EDT).
func fixture(t testing.TB, lang string) Data {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	d := NewDataLang(
		beckon.Clinic{Name: "Riverside Family Medicine", Phone: "+15550102000"},
		beckon.Patient{FirstName: "Maria", LastName: "Garcia", Language: lang},
		beckon.Appointment{
			Start:        time.Date(2026, time.September, 16, 14, 30, 0, 0, time.UTC),
			Duration:     45 * time.Minute,
			Type:         "Follow-up",
			Provider:     "777",
			ProviderName: "Dr. Ana Rivera",
			Location:     "MAIN",
			LocationName: "Main Street Clinic",
			Notes:        "Patient is anxious about needles.",
		},
		loc,
		lang,
	)
	// The which-appointment question: Maria's appointment and her son's
	// half an hour later.
	d.AddChoice(beckon.Patient{FirstName: "Maria"}, beckon.Appointment{Start: time.Date(2026, time.September, 16, 14, 30, 0, 0, time.UTC)}, loc, lang)
	d.AddChoice(beckon.Patient{FirstName: "Leo"}, beckon.Appointment{Start: time.Date(2026, time.September, 16, 15, 0, 0, 0, time.UTC)}, loc, lang)
	return d
}

// golden renders r as the golden file's text: the parts in order, and for
// SMS the segment count.
func golden(channel beckon.Channel, r Rendered) []byte {
	var b bytes.Buffer
	if channel == beckon.ChannelSMS {
		enc, n, units := Segments(r.Text)
		fmt.Fprintf(&b, "-- segments --\n%s, %d segment(s), %d units\n", enc, n, units)
		fmt.Fprintf(&b, "-- text --\n%s\n", r.Text)
		return b.Bytes()
	}
	fmt.Fprintf(&b, "-- subject --\n%s\n-- text --\n%s\n-- html --\n%s", r.Subject, r.Text, r.HTML)
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, name := range Names() {
		cs, _ := Builtin(name)
		for lang, c := range cs {
			for _, channel := range []beckon.Channel{beckon.ChannelSMS, beckon.ChannelEmail} {
				if channel == beckon.ChannelEmail && c.Subject == "" {
					continue // an SMS answer
				}
				file := filepath.Join("testdata", fmt.Sprintf("%s.%s.%s.golden", name, lang, channel))
				t.Run(filepath.Base(file), func(t *testing.T) {
					d := fixture(t, lang)
					if channel == beckon.ChannelEmail {
						d.Links = SampleLinks() // the worker sets links on emails only
					}
					r, err := Render(channel, c, d)
					if err != nil {
						t.Fatal(err)
					}
					got := golden(channel, r)
					if *update {
						if err := os.WriteFile(file, got, 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					want, err := os.ReadFile(file)
					if err != nil {
						t.Fatalf("%v (run go test -update to create it)", err)
					}
					if !bytes.Equal(got, want) {
						t.Errorf("%s differs (run go test -update if the change is intended):\n%s", file, lineDiff(string(want), string(got)))
					}
				})
			}
		}
	}
}

// lineDiff lists the lines that differ between want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n\twant %q\n\tgot  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestGoldenFilesUsed fails on golden files no built-in produces any more.
func TestGoldenFilesUsed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		parts := strings.Split(filepath.Base(f), ".") // name.lang.channel.golden
		if len(parts) != 4 {
			t.Errorf("%s: unexpected name", f)
			continue
		}
		cs, ok := Builtin(parts[0])
		if _, has := cs[parts[1]]; !ok || !has {
			t.Errorf("%s: no built-in %s in %s; delete the file", f, parts[0], parts[1])
		}
	}
}
