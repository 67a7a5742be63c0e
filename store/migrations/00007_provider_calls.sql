-- The moment a provider call starts is recorded, with what was handed to the
-- provider, so that after a crash a claim that never reached the provider is
-- simply sent, and only a claim whose call started is settled by asking the
-- provider (Twilio) or from its events (SendGrid).
--
-- send_calls: the latest call of each send, under the claim that made it.
-- send_sightings: a provider's word that it has a send's message (a status
-- callback or event naming the send) that arrived before the message was
-- recorded: the evidence that settles an ambiguous call.
-- channel_settings.sendgrid_unsure: what the clinic wants done with an email
-- whose fate nobody can tell (no event webhook): 'resend' (may duplicate, the
-- default) or 'record_unknown' (may lose).

-- +goose Up
CREATE TABLE send_calls (
    send_id     TEXT PRIMARY KEY,
    clinic_id   TEXT NOT NULL,
    claim_token TEXT NOT NULL,
    channel     TEXT NOT NULL,
    to_addr     TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    html        TEXT NOT NULL DEFAULT '',
    started_at  BIGINT NOT NULL
);
CREATE INDEX send_calls_started ON send_calls (started_at);

CREATE TABLE send_sightings (
    send_id     TEXT PRIMARY KEY,
    clinic_id   TEXT NOT NULL,
    provider    TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    at          BIGINT NOT NULL
);

ALTER TABLE channel_settings ADD COLUMN sendgrid_unsure TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE channel_settings DROP COLUMN sendgrid_unsure;
DROP TABLE send_sightings;
DROP TABLE send_calls;
