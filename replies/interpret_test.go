package replies

import (
	"fmt"
	"testing"
)

var (
	none     = Open{}
	reminder = Open{Question: Reminder}
	which2   = Open{Question: Which, Choices: 2}
	which3   = Open{Question: Which, Choices: 3}
	optedOut = Open{Question: OptedOut}
)

// replyCase is one real-world reply and what it must be read as.
type replyCase struct {
	text    string
	lang    string
	open    Open
	intent  Intent
	choice  int
	keyword string
}

// cases are replies as patients write them, with the reading a person at
// the front desk would give them (or Other where a person must read them).
var cases = []replyCase{
	// Plain confirmations, any case, with punctuation, typos and emoji.
	{text: "C", open: reminder, intent: Confirm},
	{text: "c", open: none, intent: Confirm},
	{text: "C.", open: reminder, intent: Confirm},
	{text: "Y", open: reminder, intent: Confirm},
	{text: "YES", open: reminder, intent: Confirm},
	{text: "yes", open: none, intent: Confirm},
	{text: "Yes!!", open: reminder, intent: Confirm},
	{text: "Yesss", open: reminder, intent: Confirm},
	{text: "yse", open: reminder, intent: Confirm},
	{text: "Yeah", open: reminder, intent: Confirm},
	{text: "yep 👍", open: reminder, intent: Confirm},
	{text: "CONFIRM", open: reminder, intent: Confirm},
	{text: "confirmd", open: reminder, intent: Confirm},
	{text: "Confrim", open: reminder, intent: Confirm},
	{text: "Confirmed, thank you", open: reminder, intent: Confirm},
	{text: "OK", open: reminder, intent: Confirm},
	{text: "ok thanks", open: reminder, intent: Confirm},
	{text: "Okay!", open: reminder, intent: Confirm},
	{text: "K", open: reminder, intent: Confirm},
	{text: "👍", open: reminder, intent: Confirm},
	{text: "👍🏽", open: reminder, intent: Confirm},
	{text: "👌", open: reminder, intent: Confirm},
	{text: "✅", open: reminder, intent: Confirm},
	{text: "yes I'll be there", open: reminder, intent: Confirm},
	{text: "Yes!! see you then", open: reminder, intent: Confirm},
	{text: "I'll be there", open: reminder, intent: Confirm},
	{text: "We will be there, thanks!", open: reminder, intent: Confirm},
	{text: "Yes thank you Dr Smith", open: reminder, intent: Confirm},
	{text: "Sure, see you tomorrow", open: reminder, intent: Confirm},
	{text: "No problem, see you then", open: reminder, intent: Confirm},
	{text: "yes, can't wait", open: reminder, intent: Confirm},
	{text: "1", open: reminder, intent: Confirm},
	{text: "1 thanks", open: reminder, intent: Confirm},
	{text: "#1 please", open: reminder, intent: Confirm},
	{text: "yES i WILL BE THERE", open: reminder, intent: Confirm},
	{text: "Will do", open: reminder, intent: Confirm},
	{text: "Confirmed ✅", open: reminder, intent: Confirm},
	{text: "I'll be there, thanks!! 😊", open: reminder, intent: Confirm},
	{text: "Ok I will be there. Thank you for the reminder", open: reminder, intent: Confirm},
	{text: "1 yes", open: reminder, intent: Confirm},
	{text: "C 2", open: reminder, intent: Other},
	{text: "Got it, thanks", open: reminder, intent: Other},
	{text: "This is her daughter, she will be there", open: reminder, intent: Other},
	{text: "Yes. Also can you send me the address?", open: reminder, intent: Other},
	// Spanish, with and without accents, and English words from a Spanish speaker.
	{text: "SI", lang: "es", open: reminder, intent: Confirm},
	{text: "Sí", lang: "es", open: reminder, intent: Confirm},
	{text: "si", lang: "es", open: reminder, intent: Confirm},
	{text: "Siii", lang: "es", open: reminder, intent: Confirm},
	{text: "CONFIRMAR", lang: "es", open: reminder, intent: Confirm},
	{text: "confirmo", lang: "es", open: reminder, intent: Confirm},
	{text: "Confirmo, gracias", lang: "es", open: reminder, intent: Confirm},
	{text: "si ahí estaré", lang: "es", open: reminder, intent: Confirm},
	{text: "sí, ahí estaré", lang: "es", open: reminder, intent: Confirm},
	{text: "Si ahi estare", lang: "es", open: reminder, intent: Confirm},
	{text: "Sí, allí estaré. Muchas gracias", lang: "es", open: reminder, intent: Confirm},
	{text: "Claro que sí", lang: "es", open: reminder, intent: Confirm},
	{text: "ok gracias", lang: "es", open: reminder, intent: Confirm},
	{text: "Nos vemos mañana", lang: "es", open: reminder, intent: Confirm},
	{text: "Si\u0301", lang: "es", open: reminder, intent: Confirm}, // combining accent
	{text: "yes", lang: "es", open: reminder, intent: Confirm},
	{text: "sí", lang: "en", open: reminder, intent: Confirm},
	{text: "Perfecto, ahí estaremos", lang: "es", open: reminder, intent: Confirm},
	{text: "Sip", lang: "es", open: reminder, intent: Confirm},
	{text: "Ya confirmé", lang: "es", open: reminder, intent: Confirm},
	{text: "Buenos días, sí confirmo mi cita", lang: "es", open: reminder, intent: Confirm},
	{text: "Estaré ahí", lang: "es", open: reminder, intent: Confirm},
	{text: "si pero llegaré tarde", lang: "es", open: reminder, intent: Other},
	// Cancels: the menu, "no" after a reminder, negations.
	{text: "2", open: reminder, intent: Cancel},
	{text: "N", open: reminder, intent: Cancel},
	{text: "No", open: reminder, intent: Cancel},
	{text: "nope", open: reminder, intent: Cancel},
	{text: "No thanks", open: reminder, intent: Cancel},
	{text: "not yes", open: reminder, intent: Cancel},
	{text: "no I can't", open: reminder, intent: Cancel},
	{text: "no I can't", open: none, intent: Cancel},
	{text: "can't make it", open: reminder, intent: Cancel},
	{text: "I cant make it tomorrow, sorry", open: reminder, intent: Cancel},
	{text: "I won't be there", open: reminder, intent: Cancel},
	{text: "Not coming", open: reminder, intent: Cancel},
	{text: "cancel my appointment", open: reminder, intent: Cancel},
	{text: "Please cancel my appt", open: reminder, intent: Cancel},
	{text: "I need to cancel, my son is sick", open: reminder, intent: Cancel},
	{text: "So sorry, I won't be able to make it tomorrow because my car broke down", open: reminder, intent: Cancel},
	{text: "No puedo ir", lang: "es", open: reminder, intent: Cancel},
	{text: "no podré asistir", lang: "es", open: reminder, intent: Cancel},
	{text: "Cancelar la cita por favor", lang: "es", open: reminder, intent: Cancel},
	{text: "cancelar", lang: "es", open: reminder, intent: Cancel},
	{text: "No voy a poder ir, lo siento", lang: "es", open: reminder, intent: Cancel},
	{text: "I'm sick, can't come", open: reminder, intent: Cancel},
	{text: "Sorry I have to cancel", open: reminder, intent: Cancel},
	{text: "No puedo, tengo trabajo", lang: "es", open: reminder, intent: Cancel},
	{text: "No asistiré", lang: "es", open: reminder, intent: Cancel},
	{text: "Quiero cancelar mi cita", lang: "es", open: reminder, intent: Cancel},
	{text: "Nop", lang: "es", open: reminder, intent: Cancel},
	// Reschedules.
	{text: "3", open: reminder, intent: Reschedule},
	{text: "R", open: reminder, intent: Reschedule},
	{text: "r please", open: reminder, intent: Reschedule},
	{text: "need to reschedule", open: reminder, intent: Reschedule},
	{text: "Can we move it", open: reminder, intent: Reschedule},
	{text: "can we move it to Friday?", open: reminder, intent: Reschedule},
	{text: "I can't make it, can we reschedule?", open: reminder, intent: Reschedule},
	{text: "No, I need to reschedule", open: reminder, intent: Reschedule},
	{text: "reschedual please", open: reminder, intent: Reschedule},
	{text: "Is there a different time available?", open: reminder, intent: Reschedule},
	{text: "cambiar la cita", lang: "es", open: reminder, intent: Reschedule},
	{text: "reprogramar", lang: "es", open: reminder, intent: Reschedule},
	{text: "Necesito cambiar la cita para otro día", lang: "es", open: reminder, intent: Reschedule},
	{text: "¿Podemos reagendar?", lang: "es", open: reminder, intent: Reschedule},
	{text: "yes but can we move it to 4pm", open: reminder, intent: Reschedule},
	{text: "Yes I'll be there, no need to reschedule", open: reminder, intent: Confirm},
	{text: "I need to cancel and reschedule", open: reminder, intent: Reschedule},
	{text: "no podre ir mañana, puedo cambiar la cita?", lang: "es", open: reminder, intent: Reschedule},
	// Carrier keywords: alone, any case, trailing punctuation.
	{text: "STOP", open: reminder, intent: OptOut, keyword: "STOP"},
	{text: "Stop.", open: none, intent: OptOut, keyword: "STOP"},
	{text: " stop!! ", open: reminder, intent: OptOut, keyword: "STOP"},
	{text: "STOP STOP", open: reminder, intent: OptOut, keyword: "STOP"},
	{text: "CANCEL", open: reminder, intent: OptOut, keyword: "CANCEL"},
	{text: "cancel", open: which2, intent: OptOut, keyword: "CANCEL"},
	{text: "End", open: reminder, intent: OptOut, keyword: "END"},
	{text: "QUIT", open: reminder, intent: OptOut, keyword: "QUIT"},
	{text: "revoke", open: reminder, intent: OptOut, keyword: "REVOKE"},
	{text: "OPTOUT", open: reminder, intent: OptOut, keyword: "OPTOUT"},
	{text: "Opt out", open: reminder, intent: OptOut, keyword: "OPTOUT"},
	{text: "stopall", open: reminder, intent: OptOut, keyword: "STOPALL"},
	{text: "Unsubscribe", open: reminder, intent: OptOut, keyword: "UNSUBSCRIBE"},
	{text: "STOP please", open: reminder, intent: OptOut, keyword: "STOP"},
	{text: "please stop", open: reminder, intent: OptOut, keyword: "STOP"},
	{text: "please stop texting me", open: reminder, intent: OptOut, keyword: "STOP"},
	{text: "Stop sending me these messages", open: none, intent: OptOut, keyword: "STOP"},
	{text: "Remove me from your list", open: none, intent: OptOut},
	{text: "take me off this list", open: none, intent: OptOut},
	{text: "no more texts please", open: none, intent: OptOut},
	{text: "Don't text me", open: none, intent: OptOut},
	{text: "please unsubscribe me", open: none, intent: OptOut, keyword: "UNSUBSCRIBE"},
	{text: "BAJA", lang: "es", open: reminder, intent: OptOut, keyword: "BAJA"},
	{text: "No me manden más mensajes", lang: "es", open: none, intent: OptOut},
	{text: "Quiero darme de baja", lang: "es", open: none, intent: OptOut},
	{text: "dejen de enviarme mensajes", lang: "es", open: none, intent: OptOut},
	{text: "don't stop, I like the reminders", open: none, intent: Other},
	{text: "stop by the pharmacy first, then I'll be there", open: reminder, intent: Other}, // not an opt-out; too many other words to confirm
	{text: "Who is this? Stop", open: none, intent: OptOut, keyword: "STOP"},
	{text: "wrong number, please stop", open: none, intent: OptOut, keyword: "STOP"},
	{text: "Yes STOP", open: reminder, intent: OptOut, keyword: "STOP"},
	{text: "I don't want these texts anymore", open: none, intent: OptOut},
	{text: "Please don't send me any more messages", open: none, intent: OptOut},
	{text: "No more", open: none, intent: OptOut},
	{text: "Stop 🛑", open: reminder, intent: OptOut, keyword: "STOP"},
	{text: "Help, I'm having chest pain", open: reminder, intent: Other},
	{text: "Help me", open: none, intent: Other},
	{text: "START", open: optedOut, intent: OptIn, keyword: "START"},
	{text: "start", open: reminder, intent: OptIn, keyword: "START"},
	{text: "Unstop", open: optedOut, intent: OptIn, keyword: "UNSTOP"},
	{text: "YES", open: optedOut, intent: OptIn, keyword: "YES"},
	{text: "yes please", open: optedOut, intent: OptIn, keyword: "YES"},
	{text: "Sí", lang: "es", open: optedOut, intent: OptIn, keyword: "SI"},
	{text: "ok", open: optedOut, intent: Confirm}, // an acknowledgement of the opt-out, never an opt-in
	{text: "HELP", open: reminder, intent: Help, keyword: "HELP"},
	{text: "help?", open: none, intent: Help, keyword: "HELP"},
	{text: "Info", open: reminder, intent: Help, keyword: "INFO"},
	{text: "ayuda", lang: "es", open: reminder, intent: Help, keyword: "AYUDA"},
	// Which appointment.
	{text: "1", open: which2, intent: Choice, choice: 1},
	{text: "2", open: which2, intent: Choice, choice: 2},
	{text: "2 please", open: which2, intent: Choice, choice: 2},
	{text: "option 3", open: which3, intent: Choice, choice: 3},
	{text: "3", open: which2, intent: Other},
	{text: "0", open: which2, intent: Other},
	{text: "yes", open: which2, intent: Other},
	{text: "2 for Leo", open: which2, intent: Other},
	{text: "1 and 2", open: which2, intent: Other},
	// Free text for a person.
	{text: "", open: reminder, intent: Other},
	{text: "   ", open: reminder, intent: Other},
	{text: "🙂", open: reminder, intent: Other},
	{text: "2", open: none, intent: Other},
	{text: "No", open: none, intent: Other},
	{text: "can I bring my son? yes I'll come", open: reminder, intent: Other},
	{text: "Yes, but I might be 10 minutes late", open: reminder, intent: Other},
	{text: "yes my husband will bring me in his truck", open: reminder, intent: Other},
	{text: "Do I need to fast before the blood test?", open: reminder, intent: Other},
	{text: "What time is my appointment?", open: reminder, intent: Other},
	{text: "Who is this?", open: none, intent: Other},
	{text: "Wrong number", open: reminder, intent: Other},
	{text: "I'm not sure I can make it", open: reminder, intent: Other},
	{text: "maybe", open: reminder, intent: Other},
	{text: "Thank you", open: reminder, intent: Other},
	{text: "I was going to cancel but I can come after all, see you", open: reminder, intent: Other},
	{text: "Can I cancel?", open: reminder, intent: Other},
	{text: "I have a question about my bill", open: none, intent: Other},
	{text: "Liked “Riverside Family Medicine: Hi Maria, you have an appointment on Wednesday. Reply C to confirm, 2 to cancel, 3 to reschedule. Reply STOP to opt out.”", open: reminder, intent: Other},
	{text: "si puedo voy", lang: "es", open: reminder, intent: Confirm},
	{text: "Creo que sí, si no llueve", lang: "es", open: reminder, intent: Other},
	{text: "¿Tengo que llevar algo?", lang: "es", open: reminder, intent: Other},
	{text: "Llegaré un poco tarde", lang: "es", open: reminder, intent: Other},
	{text: "4", open: reminder, intent: Other},
	{text: "I have cancer and need to talk to the doctor", open: none, intent: Other},
	{text: "\xff\xfe", open: reminder, intent: Other},
	{text: "\xffyes\xff", open: reminder, intent: Confirm}, // invalid bytes separate words
	{text: "Loved “Reminder: your appointment is tomorrow”", open: reminder, intent: Other},
	{text: "Reacted 👍 to “Reminder: your appointment is tomorrow”", open: reminder, intent: Other},
	{text: "I'll be able to make it", open: reminder, intent: Confirm},
}

func TestInterpret(t *testing.T) {
	if len(cases) < 80 {
		t.Fatalf("only %d cases; the table must hold at least 80 real-world replies", len(cases))
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q/%s/%d", c.text, c.lang, c.open.Question), func(t *testing.T) {
			lang := c.lang
			if lang == "" {
				lang = "en"
			}
			got := Interpret(c.text, lang, c.open)
			want := Reply{Intent: c.intent, Choice: c.choice, Keyword: c.keyword}
			if got != want {
				t.Errorf("Interpret(%q, %q, %+v) = %+v, want %+v", c.text, lang, c.open, got, want)
			}
		})
	}
}
