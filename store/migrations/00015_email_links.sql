-- Email links (confirm, cancel, unsubscribe). installation_secrets holds
-- secrets every process of an installation shares, generated on first use
-- (the links' signing key is "links"; value is base64). link_uses records
-- each link used, in the transaction of its effect: a link works once.
-- outbox.headers keeps the extra mail headers of an email (List-Unsubscribe…)
-- as a JSON object, '' when none.

-- +goose Up
CREATE TABLE installation_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE link_uses (
    id        TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    action    TEXT NOT NULL,
    used_at   BIGINT NOT NULL
);

ALTER TABLE outbox ADD COLUMN headers TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN headers;
DROP TABLE link_uses;
DROP TABLE installation_secrets;
