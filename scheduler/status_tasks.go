package scheduler

import (
	"strconv"
	"time"
)

// TypeStatus is the asynq task type of a provider's delivery status: the
// webhooks enqueue it once the callback is verified and stored in the status
// inbox, the pump again while the inbox holds it pending, and the worker
// applies it (worker.StatusApplier). Its payload is the inbox entry's.
const TypeStatus = "provider:status"

// StatusTaskRetention is how long asynq keeps a status task once done: a
// callback retried within it is refused by its TaskID, not applied again.
const StatusTaskRetention = time.Hour

// StatusTaskID is the asynq TaskID of a status: duplicates of a callback that
// arrive while the first is queued are refused by asynq; later ones by the
// store. The clinic is part of it (with its length, so that no two clinics'
// ids meet): a callback sent to one clinic cannot hold up another's.
func StatusTaskID(provider, clinicID, key string) string {
	return "status:" + provider + ":" + strconv.Itoa(len(clinicID)) + ":" + clinicID + ":" + key
}
