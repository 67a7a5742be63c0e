package metrics

import "time"

// other is the label value of anything outside a label's fixed set.
const other = "other"

// Label value sets: a value outside its set is counted as other, so that
// no caller can add an unbounded (or identifying) value.
var (
	sendStatuses     = set("sent", "skipped", "superseded", "failed", "unknown")
	channelNames     = set("sms", "email", "none")
	providerNames    = set("twilio", "sendgrid", "outbox", "unknown")
	providerOutcomes = set("ok", "transient", "permanent", "unknown")
	feedSources      = set("hl7", "fhir", "rest")
	feedOutcomes     = set("accepted", "rejected", "error")
	eventOutcomes    = set("delivered", "retrying", "failed")
	intents          = set("confirm", "cancel", "reschedule", "opt_out", "opt_in", "help", "choice", "pending", "other")
)

func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// bounded is v if the set has it, else other.
func bounded(s map[string]bool, v string) string {
	if s[v] {
		return v
	}
	return other
}

// channelLabel is the channel, "none" when empty.
func channelLabel(ch string) string {
	if ch == "" {
		return "none"
	}
	return bounded(channelNames, ch)
}

// SendEnded counts a send that reached a final status.
func (m *Metrics) SendEnded(channel, status string) {
	if m == nil {
		return
	}
	m.sends.WithLabelValues(bounded(sendStatuses, status), channelLabel(channel)).Inc()
}

// SendLateness observes how long after its due time a send's provider call
// started.
func (m *Metrics) SendLateness(channel string, late time.Duration) {
	if m == nil {
		return
	}
	m.lateness.WithLabelValues(channelLabel(channel)).Observe(max(late, 0).Seconds())
}

// ProviderRequest counts one provider call and observes its latency.
func (m *Metrics) ProviderRequest(provider, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	p := bounded(providerNames, provider)
	m.providerRequests.WithLabelValues(p, bounded(providerOutcomes, outcome)).Inc()
	m.providerDuration.WithLabelValues(p).Observe(took.Seconds())
}

// PaceWait observes a wait for a sender's rate slot.
func (m *Metrics) PaceWait(wait time.Duration) {
	if m == nil {
		return
	}
	m.paceWait.Observe(max(wait, 0).Seconds())
}

// FeedMessage counts an EHR feed message by source and outcome.
func (m *Metrics) FeedMessage(source, outcome string) {
	if m == nil {
		return
	}
	m.feedMessages.WithLabelValues(bounded(feedSources, source), bounded(feedOutcomes, outcome)).Inc()
}

// EventDelivery counts an attempt to deliver an event to a clinic's
// webhook endpoint.
func (m *Metrics) EventDelivery(outcome string) {
	if m == nil {
		return
	}
	m.eventDeliveries.WithLabelValues(bounded(eventOutcomes, outcome)).Inc()
}

// InboundMessage counts a patient's message interpreted, by intent.
func (m *Metrics) InboundMessage(intent string) {
	if m == nil {
		return
	}
	m.inbound.WithLabelValues(bounded(intents, intent)).Inc()
}

// HTTPRequest counts an API request by its route pattern (the mux's, never
// the path; empty: unmatched) and observes its duration.
func (m *Metrics) HTTPRequest(pattern string, status int, took time.Duration) {
	if m == nil {
		return
	}
	if pattern == "" {
		pattern = "unmatched"
	}
	m.httpRequests.WithLabelValues(pattern, statusClass(status)).Inc()
	m.httpDuration.WithLabelValues(pattern).Observe(took.Seconds())
}
