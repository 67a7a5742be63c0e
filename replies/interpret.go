package replies

import "strings"

// Intent is what a patient's reply asks for.
type Intent string

// Intents.
const (
	Confirm    Intent = "confirm"
	Cancel     Intent = "cancel" // a request to cancel the appointment (not an opt-out)
	Reschedule Intent = "reschedule"
	OptOut     Intent = "opt_out" // carrier keywords: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT
	OptIn      Intent = "opt_in"  // START, UNSTOP; YES when Open.Question == OptedOut
	Help       Intent = "help"    // HELP, INFO
	Choice     Intent = "choice"  // a number answering a Which question
	Other      Intent = "other"   // free text for a person
)

// Question is what the conversation left open when the reply came.
type Question int

// Questions.
const (
	NoQuestion Question = iota
	Reminder            // a reminder offered the menu: C/1 confirm, 2/N cancel, 3/R reschedule
	Which               // "Reply 1 for Ana on Tue 3:00 PM, 2 for Leo …": Open.Choices options
	OptedOut            // the patient is opted out on SMS: YES/SI means opt back in
)

// Open is the question a reply answers, and for Which how many options it
// offered.
type Open struct {
	Question Question
	Choices  int
}

// Reply is what Interpret read.
type Reply struct {
	Intent  Intent
	Choice  int    // 1-based, when Intent == Choice
	Keyword string // the carrier keyword matched (upper case), for OptOut/OptIn/Help; else ""
}

// Reply limits beyond which a confirmation is not believed.
const (
	maxConfirmWords   = 12
	maxConfirmUnknown = 2
)

// Interpret reads a patient's reply. lang is the patient's language ("en",
// "es", or a tag such as "es-MX"); words of both languages are read whatever
// it says, and it only breaks ties. See the package documentation for the
// rules and the reasons behind them.
//
// With Which open only a number in range answers the question: every other
// reading except OptOut, OptIn and Help is Other, so that nothing is applied
// to an appointment the patient has not chosen.
func Interpret(text, lang string, open Open) Reply {
	if tapback(text) {
		return Reply{Intent: Other}
	}
	var m message
	m.fold(text)
	if m.ntok == 0 {
		return Reply{Intent: Other}
	}
	var es [maxTokens]entry
	for i := range m.ntok {
		es[i] = lookup(m.word(i))
	}
	r := read(&m, es[:m.ntok], spanish(lang), open)
	if open.Question == Which && r.Intent != Choice && r.Intent != OptOut && r.Intent != OptIn && r.Intent != Help {
		return Reply{Intent: Other}
	}
	return r
}

func spanish(lang string) bool {
	return len(lang) >= 2 && (lang[0]|0x20) == 'e' && (lang[1]|0x20) == 's' && (len(lang) == 2 || lang[2] == '-' || lang[2] == '_')
}

func read(m *message, es []entry, spanish bool, open Open) Reply {
	if r, ok := alone(m, es, open); ok {
		return r
	}
	if r, ok := optOutPhrase(m, es); ok {
		return r
	}
	if open.Question == OptedOut {
		if r, ok := yesAlone(es); ok {
			return r
		}
	}
	if n, ok := bareNumber(m, es); ok {
		return number(n, open)
	}
	return score(m, es, spanish, open)
}

// alone is a keyword that is the whole reply, possibly repeated.
func alone(m *message, es []entry, open Open) (Reply, bool) {
	first := es[0]
	for i := 1; i < len(es); i++ {
		if es[i].canon != first.canon || first.canon == "" {
			if len(es) == 2 && m.word(0) == "opt" && m.word(1) == "out" {
				return Reply{Intent: OptOut, Keyword: "OPTOUT"}, true
			}
			return Reply{}, false
		}
	}
	switch {
	case first.c&cOptOutKw != 0:
		return Reply{Intent: OptOut, Keyword: first.canon}, true
	case first.c&cOptInKw != 0:
		return Reply{Intent: OptIn, Keyword: first.canon}, true
	case first.c&cHelpKw != 0:
		return Reply{Intent: Help, Keyword: first.canon}, true
	case first.c&cYesWord != 0 && open.Question == OptedOut:
		return Reply{Intent: OptIn, Keyword: first.canon}, true
	}
	return Reply{}, false
}

// yesAlone is an explicit yes with courtesy words ("yes please", "sí,
// gracias"): the opt-in when the patient is opted out. "ok" is not: it
// acknowledges the opt-out confirmation.
func yesAlone(es []entry) (Reply, bool) {
	kw := ""
	for _, e := range es {
		switch {
		case e.c&cYesWord != 0 && kw == "":
			kw = e.canon
		case e.c&cCourtesy != 0 && e.c&cYes == 0:
		default:
			return Reply{}, false
		}
	}
	return Reply{Intent: OptIn, Keyword: kw}, kw != ""
}

// optOutPhrase finds a plain request to stop the messages.
func optOutPhrase(m *message, es []entry) (Reply, bool) {
	n := len(es)
	negatedBefore := func(i int) bool {
		if i == 0 || m.toks[i].clause {
			return false
		}
		switch m.word(i - 1) {
		case "dont", "not", "never", "cant", "didnt", "wont":
			return true
		}
		return false
	}
	keyword := func() string { // the carrier keyword the message contains
		for i, e := range es {
			if e.c&cOptOutLed != 0 && e.c&cOptOutKw != 0 && !negatedBefore(i) && e.canon != "BAJA" {
				return e.canon
			}
		}
		return ""
	}
	optOut := func() (Reply, bool) { return Reply{Intent: OptOut, Keyword: keyword()}, true }
	if es[0].c&cOptOutLed != 0 && (n == 1 || m.word(1) != "by") { // not "stop by the pharmacy first"
		return optOut()
	}
	if last := es[n-1]; last.c&cOptOutLed != 0 && !negatedBefore(n-1) {
		return optOut()
	}
	objectWithin := func(i, k int) bool { // an object word in es[i:i+k]
		for j := i; j < min(n, i+k); j++ {
			if es[j].c&cObject != 0 {
				return true
			}
		}
		return false
	}
	for i, e := range es {
		w := m.word(i)
		switch {
		case (w == "unsubscribe" || w == "optout" || w == "stopall") && !negatedBefore(i):
			return optOut()
		case e.c&cStopVerb != 0 && !negatedBefore(i) && objectWithin(i+1, 3):
			return optOut()
		case w == "opt" && i+1 < n && (m.word(i+1) == "out" || m.word(i+1) == "me" && i+2 < n && m.word(i+2) == "out"):
			return Reply{Intent: OptOut, Keyword: "OPTOUT"}, true
		case e.c&cRemove != 0 && (i+1 == n || objectWithin(i+1, 5)) && (w != "remove" && w != "delete" || i+1 < n && m.word(i+1) == "me"):
			return optOut()
		case (w == "take" || w == "sacar") && i+2 < n && m.word(i+1) == "me" && m.word(i+2) == "off" && (i+3 == n || objectWithin(i+3, 4)):
			return optOut()
		case (w == "more" || w == "mas") && i > 0 && m.word(i-1) == "no" && (i+1 == n || objectWithin(i+1, 2)):
			return optOut()
		case w == "want" && i > 0 && (m.word(i-1) == "dont" || m.word(i-1) == "not") && objectWithin(i+1, 3):
			return optOut() // "I don't want these texts"
		case (w == "dont" || w == "not") && i+1 < n && es[i+1].c&cSendVerb != 0 && (i+2 == n || m.word(i+2) == "me"):
			return optOut()
		case w == "no" && i+2 < n && m.word(i+1) == "me" && es[i+2].c&cSendVerb != 0:
			return optOut()
		case w == "baja" && i > 0 && m.word(i-1) == "de":
			return optOut()
		case w == "quiero" && i > 0 && m.word(i-1) == "no" && i+1 < n && (m.word(i+1) == "recibir" || m.word(i+1) == "mas" || es[i+1].c&cObject != 0):
			return optOut()
		}
	}
	return Reply{}, false
}

// bareNumber is a reply that is one number and courtesy words ("1", "#2
// please", "option 3").
func bareNumber(m *message, es []entry) (int, bool) {
	n, found := 0, false
	for i, e := range es {
		w := m.word(i)
		if v, ok := digits(w); ok {
			if found {
				return 0, false
			}
			n, found = v, true
			continue
		}
		if e.c&cCourtesy == 0 {
			return 0, false
		}
	}
	return n, found
}

func digits(w string) (int, bool) {
	if len(w) == 0 || len(w) > 3 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return 0, false
		}
		v = v*10 + int(w[i]-'0')
	}
	return v, true
}

func number(n int, open Open) Reply {
	switch open.Question {
	case Which:
		if n >= 1 && n <= open.Choices {
			return Reply{Intent: Choice, Choice: n}
		}
	case Reminder:
		switch n {
		case 1:
			return Reply{Intent: Confirm}
		case 2:
			return Reply{Intent: Cancel}
		case 3:
			return Reply{Intent: Reschedule}
		}
	}
	return Reply{Intent: Other}
}

// tapback is an iMessage or Android reaction forwarded as SMS: 'Liked
// "…our reminder…"', 'Reacted 👍 to "…"'. It quotes our own message (with
// its "Reply STOP to opt out"), so it is not read as words; a person sees
// it.
func tapback(text string) bool {
	for _, p := range []string{"Liked ", "Loved ", "Laughed at ", "Emphasized ", "Disliked ", "Questioned ", "Reacted "} {
		if len(text) > len(p) && text[:len(p)] == p {
			rest := text[len(p):]
			return strings.ContainsAny(rest, "“\"”") && (p != "Reacted " || strings.Contains(rest, " to "))
		}
	}
	return false
}
