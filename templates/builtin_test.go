package templates

import (
	"slices"
	"testing"

	"github.com/beckonhealth/beckon"
)

func TestNames(t *testing.T) {
	want := []string{"appointment_followup", "appointment_reminder", "appointment_reminder_confirm",
		"reply_acknowledgement", "reply_cancel_received", "reply_confirmed", "reply_help", "reply_opted_in",
		"reply_opted_out", "reply_reschedule_received", "reply_which_appointment", "survey_request"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
}

// smsOnly are the built-ins that answer an SMS conversation (a keyword, a
// numbered question, free text) and have no email form.
var smsOnly = map[string]bool{
	"reply_acknowledgement": true, "reply_help": true, "reply_opted_in": true, "reply_opted_out": true,
	"reply_which_appointment": true,
}

func TestBuiltinsValidForEveryChannel(t *testing.T) {
	for _, name := range Names() {
		cs, ok := Builtin(name)
		if !ok {
			t.Fatalf("Builtin(%q) not found", name)
		}
		for _, lang := range []string{"en", "es"} {
			c, has := cs[lang]
			if !has {
				t.Errorf("%s: no %s content", name, lang)
			}
			switch {
			case smsOnly[name] && (c.Text == "" || c.Subject != "" || c.HTML != ""):
				t.Errorf("%s.%s: want text alone (an SMS answer)", name, lang)
			case !smsOnly[name] && (c.Subject == "" || c.Text == "" || c.HTML == ""):
				t.Errorf("%s.%s: want subject, text and html", name, lang)
			}
		}
		channels := []beckon.Channel{beckon.ChannelSMS, beckon.ChannelEmail, beckon.ChannelPreferred}
		if smsOnly[name] {
			channels = channels[:1]
			if err := Validate(beckon.ChannelEmail, cs); err == nil {
				t.Errorf("Validate(email, %s) passed; an SMS answer has no subject", name)
			}
		}
		for _, channel := range channels {
			if err := Validate(channel, cs); err != nil {
				t.Errorf("Validate(%s, %s): %v", channel, name, err)
			}
		}
	}
}

func TestBuiltinUnknownAndCopy(t *testing.T) {
	if _, ok := Builtin("nope"); ok {
		t.Error(`Builtin("nope") found`)
	}
	cs, _ := Builtin("appointment_reminder")
	delete(cs, "en")
	if again, _ := Builtin("appointment_reminder"); again["en"].Text == "" {
		t.Error("changing the returned map changed the built-in")
	}
}

// TestBuiltinSMSLength keeps SMS texts to at most two parts with realistic
// data. Text made only of GSM-7 characters has 306 septets in two parts;
// a name such as "María" forces UCS-2, which has 134 code units in two parts,
// so that case is allowed three.
func TestBuiltinSMSLength(t *testing.T) {
	for _, name := range Names() {
		cs, _ := Builtin(name)
		for lang, c := range cs {
			for _, tc := range []struct {
				first, clinic   string
				maxGSM, maxUCS2 int
			}{
				{"Maria", "Riverside Family Medicine", 2, 0},
				{"Christopher", "Northside Pediatrics and Adolescent Medicine", 2, 0},
				{"María José", "Clínica Familiar San José", 0, 3},
			} {
				d := fixture(t, lang)
				d.Patient.FirstName = tc.first
				d.Clinic.Name = tc.clinic
				r, err := Render(beckon.ChannelSMS, c, d)
				if err != nil {
					t.Fatal(err)
				}
				enc, n, units := Segments(r.Text)
				limit := tc.maxGSM
				if enc == EncodingUCS2 {
					limit = tc.maxUCS2
				}
				if n > limit {
					t.Errorf("%s.%s with %q, %q: %s %d parts (%d units), want at most %d:\n%s",
						name, lang, tc.first, tc.clinic, enc, n, units, limit, r.Text)
				}
			}
		}
	}
}
