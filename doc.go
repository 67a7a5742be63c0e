// Package beckon is Beckon's domain: the records every part of the system
// speaks of, the words for their states, the errors, the clock and the
// contract of the database. It holds no behaviour beyond small rules of the
// data itself (an id, a status's rank), and imports nothing of Beckon's.
//
// Where things are:
//
//   - clinic.go, patient.go, appointment.go, campaign.go, send.go,
//     message.go, audit.go: the records and their statuses, roles, channels
//     and consent states.
//   - store.go and the files named for a part of the store's contract
//     (delivery.go, feeds.go, batch.go, dispatch.go, calls.go,
//     status_inbox.go, writes.go, consent.go, message_send.go, inbound_sms.go,
//     conversation_state.go, events.go, links.go): Store and Querier, which package store
//     implements on SQLite and PostgreSQL, with their parameters and the
//     records only the store keeps. Writes is what scheduler.Decide returns
//     and the store's one writer applies.
//   - events.go: the events the clinics' webhook endpoints receive, the
//     endpoints and their deliveries (EventStore, the outbox of events).
//   - errors.go: ErrNotFound, ErrConflict, ErrUnavailable, ErrInvalidData,
//     what every store error is translated to.
//   - clock.go: Clock, the one injected clock of everything that decides when
//     a patient is messaged (SystemClock in production, ManualClock in tests).
//   - ids.go: NewID, the ordered ids of messages, audit entries and keys.
//
// Packages that use the store declare the narrow interface they need (see
// worker.DeliveryStore and scheduler.PumpStore) rather than taking all of Store.
package beckon
