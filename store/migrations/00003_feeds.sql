-- EHR feeds: the raw archive of inbound messages, per-appointment feed state
-- (ordering and tombstones), per-clinic feed settings, confirmations with
-- their provenance, and write-backs to the EHR.

-- +goose Up
CREATE TABLE inbound_messages (
    id             TEXT PRIMARY KEY,
    clinic_id      TEXT NOT NULL DEFAULT '',
    transport      TEXT NOT NULL DEFAULT '',
    format         TEXT NOT NULL DEFAULT '',
    control_id     TEXT NOT NULL DEFAULT '',
    digest         TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL DEFAULT '',
    outcome        TEXT NOT NULL DEFAULT '',
    result         TEXT NOT NULL DEFAULT '',
    detail         TEXT NOT NULL DEFAULT '',
    appointment_id TEXT NOT NULL DEFAULT '',
    received_at    BIGINT NOT NULL
);
CREATE INDEX inbound_messages_clinic ON inbound_messages (clinic_id, received_at, id);
CREATE INDEX inbound_messages_received ON inbound_messages (received_at, id);

CREATE TABLE feed_state (
    clinic_id      TEXT NOT NULL REFERENCES clinics (id),
    appointment_id TEXT NOT NULL,
    source_at      BIGINT,
    source_version BIGINT NOT NULL DEFAULT 0,
    digest         TEXT NOT NULL DEFAULT '',
    tombstone      BOOLEAN NOT NULL DEFAULT FALSE,
    ehr_version    TEXT NOT NULL DEFAULT '',
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, appointment_id)
);

CREATE TABLE feed_settings (
    clinic_id        TEXT PRIMARY KEY REFERENCES clinics (id),
    fhir_base_url    TEXT NOT NULL DEFAULT '',
    fhir_auth_header TEXT NOT NULL DEFAULT '',
    webhook_url      TEXT NOT NULL DEFAULT '',
    webhook_secret   TEXT NOT NULL DEFAULT '',
    writeback        BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE feed_facilities (
    facility  TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL REFERENCES clinics (id)
);
CREATE INDEX feed_facilities_clinic ON feed_facilities (clinic_id);

CREATE TABLE confirmations (
    id                  TEXT PRIMARY KEY,
    clinic_id           TEXT NOT NULL REFERENCES clinics (id),
    appointment_id      TEXT NOT NULL,
    appointment_version BIGINT NOT NULL DEFAULT 0,
    response            TEXT NOT NULL,
    by_whom             TEXT NOT NULL DEFAULT '',
    method              TEXT NOT NULL DEFAULT '',
    note                TEXT NOT NULL DEFAULT '',
    actor               TEXT NOT NULL DEFAULT '',
    at                  BIGINT NOT NULL
);
CREATE INDEX confirmations_appointment ON confirmations (clinic_id, appointment_id, at, id);

CREATE TABLE writebacks (
    id              TEXT PRIMARY KEY,
    clinic_id       TEXT NOT NULL REFERENCES clinics (id),
    appointment_id  TEXT NOT NULL,
    confirmation_id TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX writebacks_appointment ON writebacks (clinic_id, appointment_id, created_at, id);

-- +goose Down
DROP TABLE writebacks;
DROP TABLE confirmations;
DROP TABLE feed_facilities;
DROP TABLE feed_settings;
DROP TABLE feed_state;
DROP TABLE inbound_messages;
