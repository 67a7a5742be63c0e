// Package replies reads what a patient texts back: Interpret turns the body
// of an inbound message, the patient's language and the question the
// conversation left open into one Intent. It is a pure function: no clock,
// no store, no I/O, and it never fails; whatever it cannot read with
// confidence is Other, which puts the message in front of a person.
//
// The choices it makes, and why:
//
//   - Carrier keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE,
//     OPTOUT; START, UNSTOP; HELP, INFO) count when they are the whole body,
//     as Twilio matches them: trimmed, any case, punctuation and emoji
//     around them ignored ("Stop.", "STOP!!", "stop 🛑"). The same keyword
//     repeated ("STOP STOP") is still the keyword. CANCEL alone is always an
//     opt-out, never an appointment cancel; the reminders offer 2 to cancel.
//     BAJA and PARAR (Spanish) alone are opt-outs too, AYUDA alone is help,
//     each with itself as Reply.Keyword.
//   - Beyond the keyword alone, an opt-out is recognised when the patient
//     plainly asks for the messages to end, because missing an opt-out
//     breaks the law and the patient's trust, while a wrong one is visible
//     at once (the patient gets the single opt-out confirmation, which says
//     how to resubscribe): a message that starts with STOP, UNSUBSCRIBE or
//     OPTOUT ("STOP please", "Stop it"), "please stop", "stop texting me",
//     "remove me from your list", "no more texts", "don't text me", and the
//     "I don't want these texts", "no more", and the Spanish "no me manden
//     mensajes", "dejen de enviarme", "darme de baja". "don't stop" and
//     "stop by the pharmacy" are not opt-outs. Reply.Keyword is the carrier keyword
//     the message contains (STOP in "please stop texting me"), or "" for a
//     phrase without one ("remove me from your list").
//   - YES (Y, SI, SÍ) is an opt-in only when the open question is OptedOut;
//     otherwise it confirms.
//   - The menu's letters: C confirms, R asks to reschedule (in a reply of at
//     most three words), N cancels a Reminder like "no" below.
//   - Numbers mean something only when a question is open: with Reminder, 1
//     confirms, 2 cancels, 3 reschedules; with Which, 1..Choices chooses
//     (anything else is Other). A number may come with courtesy words ("1
//     thanks", "#2 please", "option 2"); in a reply of at most three words
//     a menu number beside a yes or a no counts as its meaning ("1 yes"; "C
//     2" contradicts itself: Other). With no question open a lone number is
//     Other: a survey's "3" (answering 0 to 10) must be read with NoQuestion,
//     never with Reminder.
//   - "no" (N, NOPE, NAH) that starts a reply to a Reminder means "I can't
//     come": Cancel. With no question open a bare "no" is Other. "no
//     problem", "no worries" and "can't wait" are not negations.
//   - Negations never confirm: "not yes", "won't be there", "I can't",
//     "no puedo ir" are Cancel.
//   - A reschedule wish ("need to reschedule", "can we move it?", "cambiar la
//     cita", "reprogramar") is Reschedule even when it comes with a
//     cancellation or a question, since a person follows it up anyway.
//   - A confirmation is given only when it is unambiguous: no question mark,
//     no hedge ("but", "maybe", "late", "if", "pero", "tal vez", "tarde"),
//     no cancel signal, at most twelve words and at most two words the
//     interpreter does not know ("yes thank you Dr Smith" confirms, "yes my
//     husband will bring me" goes to a person). A wrong confirmation is worse
//     than a message in the inbox. A cancel request is given when there is
//     no question, hedge or confirmation with it.
//   - Both languages' words are read whatever lang says. lang breaks the one
//     tie the vocabulary has: an unaccented "si" that does not start the
//     reply means "if" in Spanish (a hedge) and "yes" otherwise.
//   - Case, accents (also as combining marks), apostrophes ("can't" is
//     "cant"), punctuation, repeated letters ("yesss") and one-letter typos
//     in the long words ("confrim", "reschedual") are tolerated. 👍 👌 ✅ ✔
//     ☑ confirm; other emoji are ignored. Invalid UTF-8 bytes separate words.
//   - A reaction forwarded as SMS ('Liked "…"', 'Reacted 👍 to "…"') quotes
//     Beckon's own message, opt-out line included: it is Other.
package replies
