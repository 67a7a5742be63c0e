package feeds

import "github.com/beckonhealth/beckon"

// Metrics counts the feed messages processed; package metrics implements
// it. Nil counts nothing.
type Metrics interface {
	// FeedMessage: a message of source (hl7, fhir, rest) ended accepted,
	// rejected (the sender must fix it) or error (Beckon failed).
	FeedMessage(source, outcome string)
}

// Feed sources and outcomes, as Metrics counts them.
const (
	SourceHL7  = "hl7"
	SourceFHIR = "fhir"
	SourceREST = "rest"

	OutcomeAccepted = "accepted"
	OutcomeRejected = "rejected"
	OutcomeError    = "error"
)

// Outcome is a feed result (beckon.FeedApplied, …) as a metrics outcome.
func Outcome(result string) string {
	switch result {
	case beckon.FeedRejected:
		return OutcomeRejected
	case beckon.FeedError:
		return OutcomeError
	}
	return OutcomeAccepted
}

// count counts a message when m is set.
func count(m Metrics, source, result string) {
	if m != nil {
		m.FeedMessage(source, Outcome(result))
	}
}
