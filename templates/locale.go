package templates

import (
	"cmp"
	"strconv"
	"strings"
	"time"
)

// locale holds the hand-written names and formats of one language.
// golang.org/x/text has no date formatting, so these are written out here.
type locale struct {
	months   [12]string // January first
	weekdays [7]string  // Sunday first, as time.Weekday
	// date formats a day, e.g. "Monday, March 9".
	date func(l *locale, t time.Time) string
	// clock formats a time of day, e.g. "3:30 PM".
	clock func(t time.Time) string
	// hour and minute units for durations: singular, plural.
	hour, hours, minute, minutes string
	// shortWeekdays are the weekdays as a short SMS writes them, Sunday first.
	shortWeekdays [7]string
	// shortDay formats month and day in digits, e.g. "3/9".
	shortDay func(t time.Time) string
	// choiceWords are the words of an option of a which-appointment
	// question (see choice): for, the name when there is none, on, at.
	choiceWords [4]string
}

// choice writes one option of a which-appointment question: "1 for Ana on
// Mon 3/9 at 3:30 PM", "1 para Ana el lun 9/3 a las 15:30".
func (l *locale) choice(c Choice) string {
	w := l.choiceWords
	s := strconv.Itoa(c.Number) + w[0] + cmp.Or(c.FirstName, w[1])
	if c.Time != "" {
		s += w[2] + c.Weekday + " " + c.Day + w[3] + c.Time
	}
	return s
}

var english = locale{
	months: [12]string{"January", "February", "March", "April", "May", "June",
		"July", "August", "September", "October", "November", "December"},
	weekdays: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	date: func(l *locale, t time.Time) string {
		return l.weekdays[t.Weekday()] + ", " + l.months[t.Month()-1] + " " + strconv.Itoa(t.Day())
	},
	clock: func(t time.Time) string { return t.Format("3:04 PM") },
	hour:  "hour", hours: "hours", minute: "minute", minutes: "minutes",
	shortWeekdays: [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
	shortDay:      func(t time.Time) string { return t.Format("1/2") },
	choiceWords:   [4]string{" for ", "the appointment", " on ", " at "},
}

var spanish = locale{
	months: [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio",
		"julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	weekdays: [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
	date: func(l *locale, t time.Time) string {
		return l.weekdays[t.Weekday()] + ", " + strconv.Itoa(t.Day()) + " de " + l.months[t.Month()-1]
	},
	clock: func(t time.Time) string { return t.Format("15:04") },
	hour:  "hora", hours: "horas", minute: "minuto", minutes: "minutos",
	// é and ñ are in GSM-7, á is not: "sab" keeps a Saturday message GSM-7.
	shortWeekdays: [7]string{"dom", "lun", "mar", "mié", "jue", "vie", "sab"},
	shortDay:      func(t time.Time) string { return t.Format("2/1") },
	choiceWords:   [4]string{" para ", "la cita", " el ", " a las "},
}

// locales maps a primary language subtag to its locale. It is never written.
var locales = map[string]*locale{
	"en": &english,
	"es": &spanish,
}

// localeFor returns the locale of a BCP 47 tag ("es", "es-MX", "ES_mx"),
// falling back to English for languages without one.
func localeFor(lang string) *locale {
	if l, ok := locales[primarySubtag(lang)]; ok {
		return l
	}
	return &english
}

// normalizeTag lowercases a language tag and writes "_" as "-".
func normalizeTag(lang string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(lang), "_", "-"))
}

// primarySubtag returns the language of a tag: "es-MX" → "es".
func primarySubtag(lang string) string {
	lang = normalizeTag(lang)
	if i := strings.IndexByte(lang, '-'); i >= 0 {
		return lang[:i]
	}
	return lang
}

// duration formats a duration as whole hours and minutes ("1 hour 30 minutes",
// "45 minutos"); zero or negative durations are empty. Seconds are dropped.
func (l *locale) duration(d time.Duration) string {
	if d < time.Minute {
		return ""
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if h > 0 {
		parts = append(parts, plural(h, l.hour, l.hours))
	}
	if m > 0 {
		parts = append(parts, plural(m, l.minute, l.minutes))
	}
	return strings.Join(parts, " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
