-- What a conversation with a number left open: the which-appointment
-- question a shared number (a household) or several reminded appointments
-- call for, with its choices and the answer waiting for the choice. One
-- row per clinic and number; a row is replaced by the next question and
-- deleted once answered.

-- +goose Up
CREATE TABLE conversations (
    clinic_id  TEXT NOT NULL REFERENCES clinics (id),
    phone      TEXT NOT NULL,
    question   TEXT NOT NULL,
    choices    TEXT NOT NULL DEFAULT '',
    pending    TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, phone)
);

-- +goose Down
DROP TABLE conversations;
