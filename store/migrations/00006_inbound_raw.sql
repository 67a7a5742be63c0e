-- The inbound archive keeps each message's bytes as sent, not as text: a
-- message in another character set (HL7 MSH-18 8859/1), or one refused for a
-- NUL byte or invalid UTF-8, is still archived whole (PostgreSQL refuses
-- such bytes in TEXT). Rows archived before keep their body; new rows leave
-- body empty and fill raw.

-- +goose Up
ALTER TABLE inbound_messages ADD COLUMN raw BYTEA;

-- +goose Down
ALTER TABLE inbound_messages DROP COLUMN raw;
