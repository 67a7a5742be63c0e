-- Two-way messaging: the sends that are not a campaign step, and the
-- messages patients send in.
--
-- send_messages holds what a message send (an answer to a reply, a staff
-- member's free text) carries beyond its row in sends, which it shares with
-- step sends so that it is claimed, re-checked, recorded and paced the same
-- way. Its sends row has no campaign (that is how a worker knows it) and no
-- appointment_id (a re-plan of the appointment must not supersede it): the
-- appointment it is about is kept here.
--
-- inbound_sms holds every inbound message, whether or not a clinic owns the
-- number it was sent to (clinic_id ''; the message log, whose rows need a
-- clinic, holds the others too, with the same id). One row per provider
-- message id: a provider's retry is stored once. queued_at is when it was
-- last handed to asynq; interpreted_at is set once the interpretation task
-- recorded its intent.

-- +goose Up
CREATE TABLE send_messages (
    send_id        TEXT PRIMARY KEY,
    clinic_id      TEXT NOT NULL,
    appointment_id TEXT NOT NULL DEFAULT '',
    to_addr        TEXT NOT NULL DEFAULT '',
    text           TEXT NOT NULL DEFAULT '',
    language       TEXT NOT NULL DEFAULT '',
    in_reply_to    TEXT NOT NULL DEFAULT '',
    consent_exempt BOOLEAN NOT NULL DEFAULT FALSE,
    quiet_exempt   BOOLEAN NOT NULL DEFAULT FALSE,
    data_json      TEXT NOT NULL DEFAULT '',
    requested_by   TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL
);

CREATE TABLE inbound_sms (
    id              TEXT PRIMARY KEY,
    clinic_id       TEXT NOT NULL DEFAULT '',
    patient_id      TEXT NOT NULL DEFAULT '',
    channel         TEXT NOT NULL DEFAULT '',
    provider        TEXT NOT NULL,
    provider_id     TEXT NOT NULL,
    from_addr       TEXT NOT NULL DEFAULT '',
    to_addr         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    opt_out_type    TEXT NOT NULL DEFAULT '',
    num_segments    INTEGER NOT NULL DEFAULT 0,
    num_media       INTEGER NOT NULL DEFAULT 0,
    received_at     BIGINT NOT NULL,
    queued_at       BIGINT NOT NULL,
    interpreted_at  BIGINT,
    intent          TEXT NOT NULL DEFAULT '',
    interpretation  TEXT NOT NULL DEFAULT '',
    needs_attention BOOLEAN NOT NULL DEFAULT FALSE,
    handled_by      TEXT NOT NULL DEFAULT '',
    handled_at      BIGINT,
    UNIQUE (provider, provider_id)
);
CREATE INDEX inbound_sms_pending ON inbound_sms (queued_at) WHERE interpreted_at IS NULL;
CREATE INDEX inbound_sms_attention ON inbound_sms (clinic_id, received_at) WHERE needs_attention AND handled_at IS NULL;
CREATE INDEX inbound_sms_patient ON inbound_sms (clinic_id, patient_id, received_at);

-- Finding the patient and the clinic of an inbound message.
-- (patients by phone: patients_phone, migration 00011)
CREATE INDEX channel_settings_twilio_from ON channel_settings (twilio_from);
CREATE INDEX channel_settings_twilio_service ON channel_settings (twilio_messaging_service_sid);

-- +goose Down
DROP INDEX channel_settings_twilio_service;
DROP INDEX channel_settings_twilio_from;
DROP TABLE inbound_sms;
DROP TABLE send_messages;
