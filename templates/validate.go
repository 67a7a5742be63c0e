package templates

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
)

// Validate checks content in every language for a channel: each part given
// is parsed and executed against sample data localized in its language, once
// with every field filled and once with every field empty, so that an unknown
// field or function, bad syntax, anything the rules of message templates do
// not allow (range, define, template, block, method calls, printf, slice and
// every other function but the few listed in the package documentation), a
// function given arguments of the wrong type, or a part that fails for a
// patient with missing details is caught before a patient would see it. The
// rules are checked on the whole template, so a branch the sample data does
// not take cannot hide anything. The error joins one *Error per problem,
// naming the language, the part and the problem.
//
// Required parts: SMS needs text. Email needs subject and text; HTML is
// optional. Preferred content may be sent as either when the step runs, so
// it must satisfy both: text and subject are required. Parts a channel does
// not use (an SMS subject) are still checked when given.
func Validate(channel beckon.Channel, cs beckon.Contents) error {
	var required []string
	switch channel {
	case beckon.ChannelSMS:
		required = []string{PartText}
	case beckon.ChannelEmail, beckon.ChannelPreferred:
		required = []string{PartSubject, PartText}
	default:
		return &Error{Err: fmt.Errorf("%w %q", ErrChannel, channel)}
	}
	if len(cs) == 0 {
		return &Error{Err: ErrNoContent}
	}
	var errs []error
	for _, lang := range slices.Sorted(maps.Keys(cs)) {
		if primarySubtag(lang) == "" {
			errs = append(errs, &Error{Lang: fmt.Sprintf("%q", lang), Err: errors.New("empty language tag")})
			continue
		}
		c := cs[lang]
		for _, p := range []struct{ part, src string }{
			{PartSubject, c.Subject}, {PartText, c.Text}, {PartHTML, c.HTML},
		} {
			req := slices.Contains(required, p.part)
			if err := validatePart(p.part, p.src, req, lang); err != nil {
				errs = append(errs, &Error{Lang: lang, Part: p.part, Err: err})
			}
		}
	}
	return errors.Join(errs...)
}

// validatePart renders one part with full and with empty sample data.
func validatePart(part, src string, required bool, lang string) error {
	if strings.TrimSpace(src) == "" {
		if required {
			return ErrRequired
		}
		return nil
	}
	var full string
	for i, d := range []Data{sampleData(lang), emptySample} {
		// renderPart wraps its errors in *Error with the part; unwrap so
		// that Validate's *Error carries the language as well.
		out, err := renderPart(part, src, false, d)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return e.Err
			}
			return err
		}
		if i == 0 {
			full = out
		}
	}
	// Only the full sample must render something: with no data at all a
	// template may rightly say nothing.
	if required && strings.TrimSpace(full) == "" {
		return ErrEmpty
	}
	return nil
}

// emptySample is data with every field empty: a patient with no first name,
// an appointment without a provider.
var emptySample = Data{}

// SampleData is realistic data localized in lang for previews and checks:
// Maria Garcia's 30-minute visit with Dr. Patel on Monday, March 9, 2026 at
// 3:30 PM at Riverside Family Medicine, and as a which-appointment question
// hers and Leo's half an hour later.
func SampleData(lang string) Data { return sampleData(lang) }

func sampleData(lang string) Data {
	d := NewDataLang(
		beckon.Clinic{Name: "Riverside Family Medicine", Phone: "+15550102000"},
		beckon.Patient{FirstName: "Maria", LastName: "Garcia"},
		beckon.Appointment{
			Start:    time.Date(2026, time.March, 9, 15, 30, 0, 0, time.UTC),
			Duration: 30 * time.Minute,
			Type:     "Annual physical",
			Provider: "Dr. Patel",
			Location: "120 Main St, Suite 4",
		},
		time.UTC,
		lang,
	)
	d.AddChoice(beckon.Patient{FirstName: "Maria"}, beckon.Appointment{Start: time.Date(2026, time.March, 9, 15, 30, 0, 0, time.UTC)}, time.UTC, lang)
	d.AddChoice(beckon.Patient{FirstName: "Leo"}, beckon.Appointment{Start: time.Date(2026, time.March, 9, 16, 0, 0, 0, time.UTC)}, time.UTC, lang)
	d.Links = SampleLinks()
	return d
}
