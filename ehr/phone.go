package ehr

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the country assumed for phone numbers sent without a
// country code, as an ISO 3166-1 alpha-2 code.
const DefaultRegion = "US"

// NormalizePhone returns number in E.164 form ("+16175550142"), reading
// numbers without a country code as numbers of region (an ISO 3166-1 alpha-2
// code; empty means [DefaultRegion]). It returns "" for anything that is not
// a valid phone number. Extensions are dropped: a message cannot reach them.
func NormalizePhone(number, region string) (e164 string) {
	if region == "" {
		region = DefaultRegion
	}
	number = strings.TrimSpace(number)
	if number == "" || len(number) > 64 {
		return ""
	}
	defer func() {
		// The phone library is third-party code fed with untrusted input:
		// a panic in it must not take the caller down.
		if recover() != nil {
			e164 = ""
		}
	}()
	n, err := phonenumbers.Parse(number, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return ""
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}

// phoneCandidate is one XTN repetition read as a way to reach the patient.
type phoneCandidate struct {
	number string // as sent, before normalisation
	mobile bool
	score  int
}

// xtnPhone reads a phone number out of an XTN repetition. It prefers the
// unformatted number (XTN-12), then the structured parts (XTN-5 country code,
// XTN-6 area code, XTN-7 local number), then the legacy XTN-1 text.
func xtnPhone(r Repetition) phoneCandidate {
	use := strings.ToUpper(hl7Value(r.Comp(2).Value()))
	equip := strings.ToUpper(hl7Value(r.Comp(3).Value()))
	switch equip {
	case "FX", "MD", "BP", "INTERNET", "X.400":
		return phoneCandidate{}
	}
	switch use {
	case "NET", "BPN":
		return phoneCandidate{}
	}
	c := phoneCandidate{mobile: equip == "CP"}
	country := digits(hl7Value(r.Comp(5).Value()))
	area := digits(hl7Value(r.Comp(6).Value()))
	local := digits(hl7Value(r.Comp(7).Value()))
	switch {
	case hl7Value(r.Comp(12).Value()) != "":
		c.number = hl7Value(r.Comp(12).Value())
	case local != "":
		c.number = area + local
		if country != "" {
			c.number = "+" + country + c.number
		}
	default:
		c.number = legacyPhone(hl7Value(r.Comp(1).Value()))
	}
	if c.number == "" {
		return phoneCandidate{}
	}
	switch {
	case c.mobile:
		c.score = 3
	case use == "PRN" || use == "ORN":
		c.score = 2
	default:
		c.score = 1
	}
	return c
}

// legacyPhone cuts the extension and free text off a version 2.3 style
// [NN] [(999)]999-9999[X99999][B99999][C any text] value.
func legacyPhone(s string) string {
	if i := strings.IndexAny(s, "XxBC"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// xtnEmail reads an email address out of an XTN repetition whose use code is
// NET or whose equipment type is Internet. ok is false when the repetition
// holds an address that is not valid (dropped); an empty address, or a
// repetition that is not an email one, is "" and ok.
func xtnEmail(r Repetition) (email string, ok bool) {
	use := strings.ToUpper(hl7Value(r.Comp(2).Value()))
	equip := strings.ToUpper(hl7Value(r.Comp(3).Value()))
	if use != "NET" && equip != "INTERNET" {
		return "", true
	}
	e := hl7Value(r.Comp(4).Value())
	if e == "" {
		// Some senders put the address in the legacy first component.
		e = hl7Value(r.Comp(1).Value())
	}
	if e == "" {
		return "", true
	}
	at := strings.IndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n") {
		return "", false
	}
	return e, true
}
