// Package templates renders Beckon's patient messages: built-in and
// clinic-written content per language, Go templates over Data (the patient,
// appointment and clinic, localized in the patient's zone and language),
// validation before content is saved, and SMS segment counting.
//
// The package is pure: it reads nothing at run time but its embedded
// built-ins, and its only shared state is a bounded, concurrency-safe cache
// of parsed templates keyed by their source.
//
// A worker delivering a send does, in order:
//
//	content, lang := templates.Select(contents, patient.Language)
//	data := templates.NewDataLang(clinic, patient, appt, patientZone, lang)
//	msg, err := templates.Render(channel, content, data) // channel: sms or email
package templates
