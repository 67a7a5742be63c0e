-- Events out: the clinics' webhook endpoints, the events Beckon records in
-- the transaction of the change that caused them (the outbox pattern), one
-- delivery per event and subscribed endpoint, and every attempt of each.
-- event_types is a JSON array of types ('[]': every type). data is the
-- event's JSON object (ids, types, times; no message bodies or numbers).
-- A delivery is pending until an attempt gets a 2xx (delivered) or Beckon
-- gives up (failed, with the reason). enqueued_at is when it was last
-- handed to asynq; claimed_at when an attempt in progress started.

-- +goose Up
CREATE TABLE webhook_endpoints (
    clinic_id       TEXT NOT NULL REFERENCES clinics (id),
    id              TEXT NOT NULL,
    url             TEXT NOT NULL,
    event_types     TEXT NOT NULL DEFAULT '[]',
    secret          TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT NOT NULL DEFAULT '',
    disabled_at     BIGINT,
    failing_since   BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, id)
);

CREATE TABLE events (
    id        TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    type      TEXT NOT NULL,
    data      TEXT NOT NULL DEFAULT '{}',
    at        BIGINT NOT NULL
);
CREATE INDEX events_clinic ON events (clinic_id, at, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    clinic_id        TEXT NOT NULL REFERENCES clinics (id),
    event_id         TEXT NOT NULL REFERENCES events (id),
    endpoint_id      TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    enqueued_at      BIGINT,
    claimed_at       BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (clinic_id, endpoint_id, created_at, id);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    at          BIGINT NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, n)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE events;
DROP TABLE webhook_endpoints;
