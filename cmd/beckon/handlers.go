package main

import (
	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/channels"
)

// registerHandlers adds the asynq handlers beyond delivery (provider statuses,
// inbound messages, EHR write-back).
func (m *Main) registerHandlers(mux *asynq.ServeMux, router channels.Router) error {
	_, _ = mux, router
	m.registerFeedHandlers(mux)
	return nil
}
