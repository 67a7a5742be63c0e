package replies

import "strings"

// class says what a word can mean; a word may have several classes.
type class uint32

const (
	cOptOutKw     class = 1 << iota // a carrier opt-out keyword when alone
	cOptInKw                        // START, UNSTOP when alone
	cHelpKw                         // HELP, INFO when alone
	cOptOutLed                      // may start an opt-out ("STOP please", "unsubscribe me")
	cYes                            // confirms ("yes", "ok", "confirmo", 👍)
	cYesShort                       // confirms in a reply of at most three words ("C", "Y", "K")
	cYesWord                        // an explicit yes: opts back in when OptedOut is open
	cUnsure                         // negated, a doubt rather than a no ("not sure")
	cNo                             // "no" that starts a reply
	cNeg                            // negates the next words of its clause
	cCant                           // a cancel by itself ("can't", "unable")
	cAttend                         // "coming", "asistiré": confirms, negated cancels
	cCancel                         // asks to cancel ("cancel my appointment")
	cResched                        // asks for another time
	cReschedShort                   // asks for another time in a reply of at most three words ("R")
	cHedge                          // makes a reply uncertain ("but", "maybe", "late")
	cFiller                         // harmless around an answer ("thanks", "see", "the")
	cCourtesy                       // may come with a bare number ("1 thanks")
	cNeutral                        // turns a negation before it into a pleasantry ("no problem")
	cStopVerb                       // "stop", "quit", "dejen": with an object, an opt-out
	cObject                         // what a stop verb stops ("texting", "mensajes", "list")
	cRemove                         // "remove", "borrarme": with me/an object, an opt-out
	cSendVerb                       // "text", "message", "manden": after "don't"/"no me", an opt-out
)

// entry is a word's classes and its canonical keyword in upper case.
type entry struct {
	c     class
	canon string
}

// vocab is the read-only table of every word the interpreter knows, both
// languages together, folded (lower case, no accents, no apostrophes).
var vocab = buildVocab()

// longWords are the words a one-letter typo is forgiven in (six letters or
// more, where a typo cannot land on another meaning).
var longWords = []string{
	"confirm", "confirmed", "confirming", "confirmar", "confirmo", "confirmado", "confirmada",
	"reschedule", "rescheduling", "reprogramar", "reagendar", "unsubscribe", "cancelled", "canceling",
	"cancelar", "definitely", "absolutely", "appointment",
}

func buildVocab() map[string]entry {
	v := make(map[string]entry, 512)
	add := func(c class, words string) {
		for _, w := range strings.Fields(words) {
			e := v[w]
			e.c |= c
			if e.canon == "" {
				e.canon = strings.ToUpper(w)
			}
			v[w] = e
		}
	}
	add(cOptOutKw, "stop stopall unsubscribe cancel end quit revoke optout baja parar")
	add(cOptOutLed, "stop stopall unsubscribe optout baja")
	add(cOptInKw, "start unstop")
	add(cHelpKw, "help info ayuda")
	add(cYes|cYesWord, "yes yeah yea yep yup ye yess yse yez si sip")
	add(cYes, "ok okay okey oki okie okk kk sure confirm confirmed confirming confirmd "+
		"absolutely definitely certainly correct perfect confirmar confirmo confirmado confirmada "+
		"confirmamos confirmada claro vale listo perfecto correcto seguro segura "+emojiOK)
	add(cYesShort|cYesWord, "y")
	add(cYesShort, "c k")
	add(cReschedShort, "r")
	add(cUnsure, "sure seguro segura")
	add(cNo, "no n nope nah nop")
	add(cNeg, "no not dont wont cant cannot didnt never unable couldnt wouldnt isnt aint nunca tampoco")
	add(cCant, "cant cannot unable couldnt")
	add(cAttend, "able coming come attend attending asistire asistiremos ire iremos voy vamos estare estaremos llegare vengo")
	add(cCancel, "cancel cancelled canceled canceling cancelling cancellation cancle cancell cancelar cancela "+
		"cancelo cancelen cancelamos cancelarla anular anula anulen")
	add(cResched, "reschedule rescheduling resched reschedual rechedule reshedule rescedule postpone move "+
		"change rebook reprogramar reprograma reprogramo reprogramarla reprogramen reagendar reagenda "+
		"reagendo reagendarla cambiar cambio cambiarla cambien mover moverla posponer aplazar")
	add(cHedge, "but maybe might perhaps probably possibly hopefully if late unsure try trying pero quizas "+
		"quiza talvez tal tarde depende aunque intentare posible")
	add(cNeutral, "problem prob probs problemo worries worry wait rush biggie hay preocupes")
	add(cStopVerb, "stop quit dejen deje dejar paren")
	add(cObject, "texting text texts txt txts txting messaging messages message msgs msg sending contacting "+
		"calling emailing reminders these list sms mensajes mensaje textos recordatorios lista enviar "+
		"enviarme mandar mandarme escribir escribirme textear llamar llamarme")
	add(cRemove, "remove delete borrarme sacarme eliminarme quitarme borren eliminen saquen")
	add(cSendVerb, "text txt message msg contact send call email text manden envien escriban contacten "+
		"llamen mande envie escriba")
	add(cFiller, "i im ill we well will be there see you then thanks thank thx ty tysm please pls plz so much "+
		"very a an the to it its that this is am are was for my our appointment appt reminder time tomorrow "+
		"today tonight morning afternoon on at and of dr doctor hi hello hey good great sounds awesome "+
		"cool fine thankyou have nice day all set got way again make made sir maam miss ms mr mrs "+
		"gracias por favor muchas mucho muchisimas hola buenos buenas dias tardes noches la el lo cita de "+
		"mi manana hoy nos vemos ahi alli aqui alla senor senora doctora ya estamos todo bien "+
		"y e en con su sus gusto saludos bendiciones dios")
	add(cCourtesy, "thanks thank you thx ty please pls plz gracias por favor option number opcion numero "+
		"el la the is its choice ok")
	// Canonical keywords where the word is not the keyword's own spelling.
	for w, canon := range map[string]string{"yeah": "YES", "yea": "YES", "yep": "YES", "yup": "YES",
		"ye": "YES", "yess": "YES", "yse": "YES", "yez": "YES", "sip": "SI", "y": "YES", "si": "SI"} {
		e := v[w]
		e.canon = canon
		v[w] = e
	}
	return v
}

// lookup finds a folded word: as it is, with repeated letters collapsed
// ("yesss", "okkk", "siii"), or a long word with one typo ("confrim").
func lookup(w string) entry {
	if e, ok := vocab[w]; ok {
		return e
	}
	var buf [maxBytes]byte
	n := 0
	for i := 0; i < len(w); i++ {
		if n == 0 || buf[n-1] != w[i] {
			buf[n] = w[i]
			n++
		}
	}
	if n < len(w) {
		if e, ok := vocab[string(buf[:n])]; ok {
			return e
		}
		// "yess" collapses to "yes"; "cancell" keeps its double l when collapsed is not a word
	}
	if len(w) >= 6 && len(w) <= 16 {
		for _, lw := range longWords {
			if osaWithin1(w, lw) {
				return vocab[lw]
			}
		}
	}
	return entry{}
}

// osaWithin1 reports whether a and b are at most one edit apart, an edit
// being an insertion, a deletion, a substitution or a swap of neighbours.
func osaWithin1(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true // equal, or b has one more letter at the end
	}
	if len(a) == len(b) {
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:] // swap
	}
	return a[i:] == b[i+1:] // b has one more letter at i
}
