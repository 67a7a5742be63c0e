// Package tasks owns every asynq task Beckon queues: its type name, its
// payload (the JSON that sits in Redis, kept byte for byte across versions so
// that tasks queued by the previous version still parse), the constructor
// that builds it, the parser the worker uses, and the TaskID that makes a
// second enqueue a no-op. The scheduler, the API and the worker all take their
// tasks from here; it imports nothing of Beckon's.
//
// Payloads carry ids and codes only, never PHI: the store holds the rest, and
// every id is read within the payload's clinic.
package tasks

import "errors"

// DefaultQueue is the asynq queue sends (and every other task) go through.
const DefaultQueue = "sends"

// ErrNoClinic: a task payload without its clinic (one queued before payloads
// carried it). It is dropped, not retried: the pump or the recheck enqueues
// the work again, with its clinic.
var ErrNoClinic = errors.New("task payload has no clinic_id")
