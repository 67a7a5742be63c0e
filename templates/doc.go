// Package templates renders Beckon's patient messages: built-in and
// clinic-written content per language, Go templates over Data (the patient,
// appointment and clinic, localized in the patient's zone and language),
// validation before content is saved, and SMS segment counting.
//
// The package is pure: it reads nothing at run time but its embedded
// built-ins, and its only shared state is a bounded, concurrency-safe cache
// of parsed templates keyed by their source.
//
// Templates, built-in or written by a clinic, may print fields of Data,
// branch with if/else/with, compare (eq, ne, lt, le, gt, ge), combine (and,
// or, not), measure (len) and format with upper, lower, title, trim, default
// and date. Everything else (range, define, template, block, method calls,
// printf, slice, index, call, html, js, urlquery) is refused when the content
// is parsed, so Validate rejects it before it is saved, and a render is
// bounded in memory, output and time whatever the template says.
//
// A worker delivering a send does, in order:
//
//	content, lang := templates.Select(contents, patient.Language)
//	data := templates.NewDataLang(clinic, patient, appt, patientZone, lang)
//	msg, err := templates.Render(channel, content, data) // channel: sms or email
package templates
