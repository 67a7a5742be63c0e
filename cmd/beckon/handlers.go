package main

import (
	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// registerHandlers adds the asynq handlers beyond delivery (provider statuses,
// inbound messages, EHR write-back).
func (m *Main) registerHandlers(mux *asynq.ServeMux, router channels.Router) error {
	_ = router
	mux.Handle(tasks.TypeStatus, worker.NewStatusApplier(m.store, m.Clock, m.logger))
	m.registerFeedHandlers(mux)
	return nil
}
