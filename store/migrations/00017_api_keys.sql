-- API key management: the secret's first characters (to recognise a key in
-- lists and logs; empty for the keys made before), an optional expiry, the
-- last use (written at most once a minute per key) and the revocation.
-- Times are unix milliseconds, NULL when not set.

-- +goose Up
ALTER TABLE api_keys ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_keys ADD COLUMN revoked_at BIGINT;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN revoked_at;
ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN prefix;
