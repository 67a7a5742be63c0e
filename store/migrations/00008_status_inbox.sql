-- The status inbox: every verified provider callback (a Twilio status, a
-- SendGrid event) is written here before the webhook answers 2xx, so that a
-- status received while Redis is down is not lost. Redis only queues it: the
-- status worker marks the row done in the transaction that applies it, and
-- the pump hands rows still pending after its recheck back to asynq.
-- One row per (clinic, provider, idempotency key): a retried callback is
-- stored once. payload is the status task's body (ids and codes, no PHI).
-- queued_at is when the row was last handed to asynq (or received);
-- done_at is set once applied (or ignored). Done rows are pruned after a day.

-- +goose Up
CREATE TABLE status_inbox (
    id          TEXT PRIMARY KEY,
    clinic_id   TEXT NOT NULL,
    provider    TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    queued_at   BIGINT NOT NULL,
    done_at     BIGINT,
    UNIQUE (clinic_id, provider, event_key)
);
CREATE INDEX status_inbox_pending ON status_inbox (queued_at) WHERE done_at IS NULL;
CREATE INDEX status_inbox_done ON status_inbox (done_at) WHERE done_at IS NOT NULL;

-- +goose Down
DROP TABLE status_inbox;
