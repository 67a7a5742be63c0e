package beckon

import (
	"context"
	"time"
)

// StatusInboxQuerier holds the status inbox: verified provider callbacks,
// stored before the webhook acknowledges them and kept until applied.
type StatusInboxQuerier interface {
	// StatusInboxPut stores the entries in one transaction, each once per
	// (clinic, provider, key): an entry already stored (pending or done) is
	// left as it is. An entry without an ID gets one.
	StatusInboxPut(ctx context.Context, entries []StatusInboxEntry) error
	// StatusInboxGet returns the clinic's entry; ErrNotFound if the clinic
	// has none with that provider and key.
	StatusInboxGet(ctx context.Context, clinicID, provider, key string) (StatusInboxEntry, error)
	// StatusInboxDone marks the clinic's pending entry done at at. An entry
	// that does not exist (a status queued before the inbox) or is done
	// already is not an error.
	StatusInboxDone(ctx context.Context, clinicID, provider, key string, at time.Time) error
	// StatusInboxListPending lists pending entries of every clinic last
	// handed to asynq before queuedBefore, least recently queued first, at
	// most limit (default 100).
	StatusInboxListPending(ctx context.Context, queuedBefore time.Time, limit int) ([]StatusInboxEntry, error)
	// StatusInboxMarkQueued records that the pending entries were handed to
	// asynq at at.
	StatusInboxMarkQueued(ctx context.Context, ids []string, at time.Time) error
	// StatusInboxPrune deletes at most limit (default 100) entries done
	// before doneBefore, oldest first, and returns how many it deleted.
	StatusInboxPrune(ctx context.Context, doneBefore time.Time, limit int) (int, error)
}

// StatusInboxEntry is one verified provider status (a Twilio status
// callback, one SendGrid event). It holds ids and codes only.
type StatusInboxEntry struct {
	ID         string // "sin_…"
	ClinicID   string // the clinic the callback was verified for
	Provider   string // twilio, sendgrid
	Key        string // the provider's idempotency key (MessageSid:status, sg_event_id)
	Payload    []byte // the status task's body, handed to asynq as it is
	ReceivedAt time.Time
	QueuedAt   time.Time // last handed to asynq; ReceivedAt until then
	DoneAt     time.Time // zero while pending
}

// Pending reports whether the status is still to be applied.
func (e StatusInboxEntry) Pending() bool { return e.DoneAt.IsZero() }
