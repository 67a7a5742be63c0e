-- Beckon's schema. One file set serves SQLite and PostgreSQL: only portable
-- types are used. Instants are BIGINT unix milliseconds UTC (NULL: zero time),
-- so they compare the same way in both dialects.

-- +goose Up
CREATE TABLE clinics (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL DEFAULT '',
    time_zone          TEXT NOT NULL DEFAULT '',
    phone              TEXT NOT NULL DEFAULT '',
    quiet_enabled      BOOLEAN NOT NULL DEFAULT FALSE,
    quiet_start_minute INTEGER NOT NULL DEFAULT 0,
    quiet_end_minute   INTEGER NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    clinic_id  TEXT NOT NULL REFERENCES clinics (id),
    name       TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL DEFAULT '',
    hash       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_keys_clinic ON api_keys (clinic_id);

CREATE TABLE patients (
    clinic_id         TEXT NOT NULL REFERENCES clinics (id),
    id                TEXT NOT NULL,
    first_name        TEXT NOT NULL DEFAULT '',
    last_name         TEXT NOT NULL DEFAULT '',
    phone             TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    language          TEXT NOT NULL DEFAULT '',
    time_zone         TEXT NOT NULL DEFAULT '',
    preferred_channel TEXT NOT NULL DEFAULT '',
    sms_consent       TEXT NOT NULL DEFAULT '',
    email_consent     TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, id)
);

CREATE TABLE appointments (
    clinic_id    TEXT NOT NULL REFERENCES clinics (id),
    id           TEXT NOT NULL,
    patient_id   TEXT NOT NULL DEFAULT '',
    start_at     BIGINT,
    duration_ms  BIGINT NOT NULL DEFAULT 0,
    type         TEXT NOT NULL DEFAULT '',
    provider     TEXT NOT NULL DEFAULT '',
    location     TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT '',
    confirmation TEXT NOT NULL DEFAULT '',
    version      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, id)
);
CREATE INDEX appointments_start ON appointments (clinic_id, start_at, id);
CREATE INDEX appointments_patient ON appointments (clinic_id, patient_id, start_at, id);

CREATE TABLE campaigns (
    clinic_id  TEXT NOT NULL REFERENCES clinics (id),
    id         TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    active     BOOLEAN NOT NULL DEFAULT FALSE,
    match_json TEXT NOT NULL DEFAULT '{}',
    steps_json TEXT NOT NULL DEFAULT '[]',
    revision   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, id)
);

CREATE TABLE sends (
    id                  TEXT PRIMARY KEY,
    clinic_id           TEXT NOT NULL REFERENCES clinics (id),
    appointment_id      TEXT NOT NULL DEFAULT '',
    appointment_version BIGINT NOT NULL DEFAULT 0,
    patient_id          TEXT NOT NULL DEFAULT '',
    campaign_id         TEXT NOT NULL DEFAULT '',
    campaign_revision   BIGINT NOT NULL DEFAULT 0,
    step_id             TEXT NOT NULL DEFAULT '',
    channel             TEXT NOT NULL DEFAULT '',
    template            TEXT NOT NULL DEFAULT '',
    due_at              BIGINT,
    before_start        BOOLEAN NOT NULL DEFAULT FALSE,
    only_if_unconfirmed BOOLEAN NOT NULL DEFAULT FALSE,
    status              TEXT NOT NULL,
    reason              TEXT NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    claim_token         TEXT NOT NULL DEFAULT '',
    claimed_at          BIGINT,
    enqueued_at         BIGINT,
    sent_at             BIGINT,
    message_id          TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
-- The pump: planned sends by due time.
CREATE INDEX sends_due ON sends (status, due_at, id);
-- The rescuer: claims by age.
CREATE INDEX sends_claimed ON sends (status, claimed_at, id);
-- Planning: an appointment's sends.
CREATE INDEX sends_appointment ON sends (clinic_id, appointment_id, due_at, id);

CREATE TABLE messages (
    id             TEXT PRIMARY KEY,
    clinic_id      TEXT NOT NULL REFERENCES clinics (id),
    patient_id     TEXT NOT NULL DEFAULT '',
    appointment_id TEXT NOT NULL DEFAULT '',
    send_id        TEXT NOT NULL DEFAULT '',
    direction      TEXT NOT NULL DEFAULT '',
    channel        TEXT NOT NULL DEFAULT '',
    to_addr        TEXT NOT NULL DEFAULT '',
    from_addr      TEXT NOT NULL DEFAULT '',
    subject        TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL DEFAULT '',
    html           TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT '',
    provider       TEXT NOT NULL DEFAULT '',
    provider_id    TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX messages_clinic_created ON messages (clinic_id, created_at, id);
CREATE INDEX messages_patient ON messages (clinic_id, patient_id, created_at, id);
CREATE INDEX messages_send ON messages (send_id);

CREATE TABLE message_events (
    id         TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id),
    clinic_id  TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    at         BIGINT NOT NULL
);
CREATE INDEX message_events_message ON message_events (message_id, at, id);

CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    clinic_id  TEXT NOT NULL REFERENCES clinics (id),
    send_id    TEXT UNIQUE, -- NULL for entries without a send
    channel    TEXT NOT NULL DEFAULT '',
    to_addr    TEXT NOT NULL DEFAULT '',
    subject    TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL DEFAULT '',
    html       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_clinic ON outbox (clinic_id, created_at, id);

CREATE TABLE audit (
    id        TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL DEFAULT '',
    actor     TEXT NOT NULL DEFAULT '',
    action    TEXT NOT NULL DEFAULT '',
    entity    TEXT NOT NULL DEFAULT '',
    entity_id TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '',
    at        BIGINT NOT NULL
);
CREATE INDEX audit_entity ON audit (clinic_id, entity, entity_id, at, id);

-- +goose Down
DROP TABLE audit;
DROP TABLE outbox;
DROP TABLE message_events;
DROP TABLE messages;
DROP TABLE sends;
DROP TABLE campaigns;
DROP TABLE appointments;
DROP TABLE patients;
DROP TABLE api_keys;
DROP TABLE clinics;
