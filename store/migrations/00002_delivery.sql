-- Real delivery through providers: per-clinic channel settings, delivery
-- statuses from provider webhooks (deduplicated), undeliverable addresses.

-- +goose Up
-- One row per clinic; empty fields fall back to the process's defaults.
-- Secrets (auth token, API key) are stored here and never returned by the API.
CREATE TABLE channel_settings (
    clinic_id                    TEXT PRIMARY KEY REFERENCES clinics (id),
    twilio_account_sid           TEXT NOT NULL DEFAULT '',
    twilio_auth_token            TEXT NOT NULL DEFAULT '',
    twilio_from                  TEXT NOT NULL DEFAULT '',
    twilio_messaging_service_sid TEXT NOT NULL DEFAULT '',
    twilio_per_second            DOUBLE PRECISION NOT NULL DEFAULT 0,
    sendgrid_api_key             TEXT NOT NULL DEFAULT '',
    sendgrid_from                TEXT NOT NULL DEFAULT '',
    sendgrid_from_name           TEXT NOT NULL DEFAULT '',
    sendgrid_per_second          DOUBLE PRECISION NOT NULL DEFAULT 0,
    sendgrid_webhook_key         TEXT NOT NULL DEFAULT '',
    revision                     BIGINT NOT NULL DEFAULT 0,
    updated_at                   BIGINT NOT NULL
);

-- Provider callbacks already applied, by the provider's own idempotency key
-- (Twilio MessageSid+status, SendGrid sg_event_id).
CREATE TABLE provider_events (
    provider  TEXT NOT NULL,
    event_key TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (provider, event_key)
);

-- Addresses a provider reported as undeliverable (bounce, dropped).
CREATE TABLE undeliverable_addresses (
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    channel   TEXT NOT NULL,
    address   TEXT NOT NULL,
    reason    TEXT NOT NULL DEFAULT '',
    at        BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, channel, address)
);

CREATE INDEX messages_provider ON messages (provider, provider_id);

-- +goose Down
DROP INDEX messages_provider;
DROP TABLE undeliverable_addresses;
DROP TABLE provider_events;
DROP TABLE channel_settings;
