-- The consent ledger: every opt-out and opt-in, per channel, append-only
-- (nothing updates or deletes its rows). consent_events has no foreign key
-- to patients: an SMS change may name no patient (a number Beckon does not
-- know), and the ledger outlives a patient's row. Ids are per clinic: a
-- change recorded twice (the same inbound message, the same provider
-- refusal) is stored once.
-- sms_consent is the current SMS consent of each number of a clinic, derived
-- from the ledger (the latest change by at); the patients' sms_consent and
-- email_consent columns are the same projection per patient, and a patient
-- written with a number the ledger knows takes the number's state.

-- +goose Up
CREATE TABLE consent_events (
    clinic_id   TEXT NOT NULL REFERENCES clinics (id),
    id          TEXT NOT NULL,
    patient_id  TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    channel     TEXT NOT NULL,
    state       TEXT NOT NULL,
    how         TEXT NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, id)
);
CREATE INDEX consent_events_patient ON consent_events (clinic_id, patient_id, at);
CREATE INDEX consent_events_phone ON consent_events (clinic_id, phone, at) WHERE phone <> '';
CREATE INDEX consent_events_email ON consent_events (clinic_id, email, at) WHERE email <> '';

CREATE TABLE sms_consent (
    clinic_id  TEXT NOT NULL REFERENCES clinics (id),
    phone      TEXT NOT NULL,
    state      TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, phone)
);

-- A change to a number reaches the patients who share it (a household).
CREATE INDEX IF NOT EXISTS patients_phone ON patients (clinic_id, phone) WHERE phone <> '';

-- +goose Down
DROP INDEX IF EXISTS patients_phone;
DROP TABLE sms_consent;
DROP TABLE consent_events;
