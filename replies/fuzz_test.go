package replies

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// carrierKeywords are the bodies that alone always mean the same, whatever
// the open question.
var carrierKeywords = []struct {
	word   string
	intent Intent
}{
	{"STOP", OptOut}, {"STOPALL", OptOut}, {"UNSUBSCRIBE", OptOut}, {"CANCEL", OptOut}, {"END", OptOut},
	{"QUIT", OptOut}, {"REVOKE", OptOut}, {"OPTOUT", OptOut}, {"START", OptIn}, {"UNSTOP", OptIn},
	{"HELP", Help}, {"INFO", Help},
}

var intents = map[Intent]bool{Confirm: true, Cancel: true, Reschedule: true, OptOut: true, OptIn: true,
	Help: true, Choice: true, Other: true}

func FuzzInterpret(f *testing.F) {
	for _, c := range cases {
		f.Add(c.text, c.lang, uint8(c.open.Question), uint8(c.open.Choices))
	}
	f.Add("\xff\xfe\xfd", "es", uint8(1), uint8(0))
	f.Add("s\xc3", "en", uint8(2), uint8(3))
	f.Add(strings.Repeat("yes ", 200), "en", uint8(1), uint8(0))
	f.Add(strings.Repeat("é", 400), "es", uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, text, lang string, q, choices uint8) {
		open := Open{Question: Question(q % 4), Choices: int(choices % 10)}
		got := Interpret(text, lang, open)
		if again := Interpret(text, lang, open); again != got {
			t.Fatalf("not deterministic: %+v then %+v", got, again)
		}
		if !intents[got.Intent] {
			t.Fatalf("unknown intent %q", got.Intent)
		}
		if (got.Intent == Choice) != (got.Choice != 0) {
			t.Fatalf("choice %d with intent %q", got.Choice, got.Intent)
		}
		if got.Intent == Choice && (open.Question != Which || got.Choice < 1 || got.Choice > open.Choices) {
			t.Fatalf("choice %d out of %+v", got.Choice, open)
		}
		if got.Keyword != "" && got.Intent != OptOut && got.Intent != OptIn && got.Intent != Help {
			t.Fatalf("keyword %q with intent %q", got.Keyword, got.Intent)
		}
		if got.Keyword != strings.ToUpper(got.Keyword) {
			t.Fatalf("keyword %q not upper case", got.Keyword)
		}
		if open.Question == Which && (got.Intent == Confirm || got.Intent == Cancel || got.Intent == Reschedule) {
			t.Fatalf("%q with Which open read as %q", text, got.Intent)
		}
		if strings.ContainsAny(text, "?¿") && got.Intent == Confirm {
			t.Fatalf("%q is a question, read as a confirmation", text)
		}

		// The same bytes, made a keyword alone: any case, white space around,
		// trailing punctuation.
		k := carrierKeywords[len(text)%len(carrierKeywords)]
		var b strings.Builder
		b.WriteString(strings.Repeat(" ", int(choices%3)))
		for i, r := range k.word {
			if i < len(text) && text[i]&1 == 1 {
				r += 'a' - 'A'
			}
			b.WriteRune(r)
		}
		b.WriteString([]string{"", ".", "!", "!!", " ", "\n", "?", "..."}[q%8])
		body := b.String()
		if r := Interpret(body, lang, open); r.Intent != k.intent || r.Keyword != k.word {
			t.Fatalf("Interpret(%q) = %+v, want %s with keyword %s", body, r, k.intent, k.word)
		}
		if !utf8.ValidString(text) {
			// Invalid bytes around a keyword only separate it from nothing:
			// still the keyword.
			var bad []byte
			for i := 0; i < len(text); {
				r, size := utf8.DecodeRuneInString(text[i:])
				if r == utf8.RuneError && size == 1 {
					b := text[i]
					if b < 0x80 || b >= 0xC0 {
						b = 0xFF // a lead byte could pair with the next into a valid letter
					}
					bad = append(bad, b)
				}
				i += size
			}
			wrapped := string(bad) + body + string(bad)
			if r := Interpret(wrapped, lang, open); r.Intent != k.intent {
				t.Fatalf("Interpret(%q) = %+v, want %s", wrapped, r, k.intent)
			}
		}
	})
}

// BenchmarkInterpret reads the table's replies, one per iteration: ns/op and
// allocs/op are per reply.
func BenchmarkInterpret(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := &cases[i%len(cases)]
		Interpret(c.text, c.lang, c.open)
		i++
	}
}
