package templates

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/replies"
)

// renderSMS renders the built-in name in lang with the golden fixture,
// changed by edit.
func renderSMS(t *testing.T, name, lang string, edit func(*Data)) string {
	t.Helper()
	cs, ok := Builtin(name)
	if !ok {
		t.Fatalf("no built-in %s", name)
	}
	d := fixture(t, lang)
	if edit != nil {
		edit(&d)
	}
	r, err := Render(beckon.ChannelSMS, cs[lang], d)
	if err != nil {
		t.Fatal(err)
	}
	return r.Text
}

// TestReminderMenuReadByInterpreter ties the reminder's menu to the reply
// interpreter: every answer it offers means what it says, and it offers no
// carrier keyword but STOP.
func TestReminderMenuReadByInterpreter(t *testing.T) {
	reminder := replies.Open{Question: replies.Reminder}
	for lang, offers := range map[string]map[string]replies.Intent{
		"en": {"Reply C to confirm": replies.Confirm, "2 to cancel": replies.Cancel, "3 to reschedule": replies.Reschedule, "Reply STOP": replies.OptOut},
		"es": {"Responda SI para confirmar": replies.Confirm, "2 para cancelar": replies.Cancel, "3 para cambiarla": replies.Reschedule, "Baja: STOP": replies.OptOut},
	} {
		text := renderSMS(t, "appointment_reminder_confirm", lang, nil)
		for offer, want := range offers {
			if !strings.Contains(text, offer) {
				t.Errorf("%s reminder does not say %q:\n%s", lang, offer, text)
			}
			f := strings.Fields(offer)
			answer := f[0] // "2 to cancel"
			if answer == "Reply" || answer == "Responda" || answer == "Baja:" {
				answer = f[1] // "Reply C …", "Baja: STOP"
			}
			if got := replies.Interpret(answer, lang, reminder); got.Intent != want {
				t.Errorf("%s: the reminder offers %q for %s, the interpreter reads %s", lang, answer, want, got.Intent)
			}
		}
		for _, kw := range []string{"CANCEL", "END", "QUIT", "REVOKE", "UNSUBSCRIBE"} {
			for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '.' || r == ',' }) {
				if w == kw {
					t.Errorf("%s reminder offers %s, a carrier opt-out keyword:\n%s", lang, kw, text)
				}
			}
		}
	}
}

func TestReplyHelp(t *testing.T) {
	for lang, want := range map[string][]string{
		"en": {"Riverside Family Medicine", "(555) 010-2000", "Msg & data rates may apply", "Reply STOP to opt out"},
		"es": {"Riverside Family Medicine", "(555) 010-2000", "Pueden aplicarse tarifas de mensajes y datos", "Responda STOP"},
	} {
		text := renderSMS(t, "reply_help", lang, nil)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("reply_help.%s lacks %q:\n%s", lang, w, text)
			}
		}
		// Without a clinic phone it still says whom to call.
		text = renderSMS(t, "reply_help", lang, func(d *Data) { d.Clinic.Phone = "" })
		if strings.Count(text, "Riverside Family Medicine") != 2 {
			t.Errorf("reply_help.%s without a phone does not name the clinic to call:\n%s", lang, text)
		}
	}
}

func TestReplyAcknowledgement(t *testing.T) {
	for lang, want := range map[string][2]string{
		"en": {"If this is an emergency, call 911.", "during office hours"},
		"es": {"Si es una emergencia, llame al 911.", "en horario de oficina"},
	} {
		text := renderSMS(t, "reply_acknowledgement", lang, nil)
		if !strings.Contains(text, want[0]) || !strings.Contains(text, want[1]) {
			t.Errorf("reply_acknowledgement.%s lacks %q or %q:\n%s", lang, want[0], want[1], text)
		}
		text = renderSMS(t, "reply_acknowledgement", lang, func(d *Data) { d.Clinic.InboxHours = "Mon-Fri 8-5" })
		if !strings.Contains(text, "Mon-Fri 8-5") || strings.Contains(text, want[1]) {
			t.Errorf("reply_acknowledgement.%s ignores InboxHours:\n%s", lang, text)
		}
	}
}

func TestReplyOptedOut(t *testing.T) {
	text := renderSMS(t, "reply_opted_out", "en", nil)
	if want := "You will receive no more messages from Riverside Family Medicine. Reply START to resubscribe."; text != want {
		t.Errorf("reply_opted_out.en = %q, want %q", text, want)
	}
	for _, lang := range []string{"en", "es"} {
		text := renderSMS(t, "reply_opted_out", lang, nil)
		if got := replies.Interpret("START", lang, replies.Open{Question: replies.OptedOut}); !strings.Contains(text, "START") || got.Intent != replies.OptIn {
			t.Errorf("reply_opted_out.%s: offers START? %v; START reads %s", lang, strings.Contains(text, "START"), got.Intent)
		}
	}
}

func TestAddChoice(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	saturday := time.Date(2026, time.September, 19, 19, 5, 0, 0, time.UTC) // 3:05 PM EDT
	for lang, want := range map[string]string{
		"en":    "1 for Ana on Sat 9/19 at 3:05 PM, 2 for Leo on Sat 9/19 at 3:05 PM, 3 for the appointment",
		"es-MX": "1 para Ana el sab 19/9 a las 15:05, 2 para Leo el sab 19/9 a las 15:05, 3 para la cita",
	} {
		var d Data
		d.AddChoice(beckon.Patient{FirstName: "Ana"}, beckon.Appointment{Start: saturday}, loc, lang)
		d.AddChoice(beckon.Patient{FirstName: "Leo"}, beckon.Appointment{Start: saturday}, loc, lang)
		d.AddChoice(beckon.Patient{}, beckon.Appointment{}, nil, lang)
		if d.ChoiceList != want {
			t.Errorf("%s: ChoiceList = %q, want %q", lang, d.ChoiceList, want)
		}
		if len(d.Choices) != 3 || d.Choices[1].Number != 2 || d.Choices[1].FirstName != "Leo" || d.Choices[0].Time == "" {
			t.Errorf("%s: Choices = %+v", lang, d.Choices)
		}
		if enc, _, _ := Segments(d.ChoiceList); enc != EncodingGSM7 {
			t.Errorf("%s: %q is %s; a Saturday must not force UCS-2", lang, d.ChoiceList, enc)
		}
	}
}

// TestTemplatesCannotReachChoices keeps the rule that templates reach no
// list: a clinic's template cannot print or loop over Choices.
func TestTemplatesCannotReachChoices(t *testing.T) {
	for _, src := range []string{"{{.Choices}}", "{{with .Choices}}x{{end}}", "{{range .Choices}}{{.Number}}{{end}}", "{{$.Choices}}"} {
		err := Validate(beckon.ChannelSMS, beckon.Contents{"en": {Text: src}})
		if !errors.Is(err, ErrNotAllowed) {
			t.Errorf("Validate(%q) = %v, want ErrNotAllowed", src, err)
		}
	}
	if err := Validate(beckon.ChannelSMS, beckon.Contents{"en": {Text: "Reply {{.ChoiceList}}"}}); err != nil {
		t.Errorf("Validate(ChoiceList) = %v", err)
	}
}

// The clinic's inbox hours reach a message in the message's language only.
func TestNewDataInboxHours(t *testing.T) {
	c := beckon.Clinic{Name: "Harbor", InboxHours: map[string]string{"es": "de lunes a viernes"}}
	p := beckon.Patient{FirstName: "Ana", Language: "es"}
	if got := NewData(c, p, beckon.Appointment{}, nil).Clinic.InboxHours; got != "de lunes a viernes" {
		t.Errorf("Spanish message: InboxHours %q", got)
	}
	if got := NewDataLang(c, p, beckon.Appointment{}, nil, "en").Clinic.InboxHours; got != "" {
		t.Errorf("English message: InboxHours %q, want none (not the Spanish text)", got)
	}
}
