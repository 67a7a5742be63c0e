package worker

import (
	"time"

	"github.com/beckonhealth/beckon/channels"
)

// Metrics is what the worker's handlers count; package metrics implements
// it. Its arguments are fixed words (statuses, channels, providers,
// outcomes, intents), never ids or PHI. Nil counts nothing.
type Metrics interface {
	// SendEnded: a send reached a final status; channel is empty when it
	// ended before one was chosen.
	SendEnded(channel, status string)
	// SendLateness: a provider call started late after the send's due time.
	SendLateness(channel string, late time.Duration)
	// ProviderRequest: one provider call, its outcome (ok, transient,
	// permanent, unknown) and how long it took.
	ProviderRequest(provider, outcome string, took time.Duration)
	// PaceWait: a send waited this long for its sender's rate slot.
	PaceWait(wait time.Duration)
	// EventDelivery: an attempt to deliver an event to a clinic's endpoint
	// (delivered, retrying, failed).
	EventDelivery(outcome string)
	// InboundMessage: a patient's message was interpreted as intent.
	InboundMessage(intent string)
}

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) SendEnded(string, string)                      {}
func (noMetrics) SendLateness(string, time.Duration)            {}
func (noMetrics) ProviderRequest(string, string, time.Duration) {}
func (noMetrics) PaceWait(time.Duration)                        {}
func (noMetrics) EventDelivery(string)                          {}
func (noMetrics) InboundMessage(string)                         {}

// metricsOr is m, or noMetrics when nil.
func metricsOr(m Metrics) Metrics {
	if m == nil {
		return noMetrics{}
	}
	return m
}

// callOutcome is a provider call's outcome for metrics: ok, permanent,
// transient (throttled included), or unknown (the provider may have the
// message).
func callOutcome(err error) string {
	if err == nil {
		return "ok"
	}
	switch channels.KindOf(err) {
	case channels.KindPermanent:
		return "permanent"
	case channels.KindAmbiguous:
		return "unknown"
	}
	return "transient"
}
