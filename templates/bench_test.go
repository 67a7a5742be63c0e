package templates

import (
	"strings"
	"testing"

	"github.com/beckonhealth/beckon"
)

// BenchmarkRender renders a built-in email (subject, text, HTML) from the
// parse cache, as the worker does for every send.
func BenchmarkRender(b *testing.B) {
	cs, _ := Builtin("appointment_reminder")
	c, _ := Select(cs, "en")
	d := fixture(b, "en")
	if _, err := Render(beckon.ChannelEmail, c, d); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(beckon.ChannelEmail, c, d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderSMS(b *testing.B) {
	cs, _ := Builtin("appointment_reminder_confirm")
	c, _ := Select(cs, "es")
	d := fixture(b, "es")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(beckon.ChannelSMS, c, d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSegments(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"gsm", "Riverside Family Medicine: Hi Maria, a reminder of your appointment with Dr. Patel on Wednesday, September 16 at 10:30 AM. Questions? Call (555) 010-2000."},
		{"gsm-ext-long", strings.Repeat("Price: 10€ {code} ", 40)},
		{"ucs2", "Clínica Familiar San José: Hola María, le recordamos su cita el sábado, 14 de marzo a las 10:00. 😀"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				Segments(bc.text)
			}
		})
	}
}
