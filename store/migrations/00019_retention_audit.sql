-- Data retention and the read audit.
--
-- audit.patient_id: the patient an entry is about (a read of their data, a
-- change to them or their appointment), so that a clinic's trail can be
-- filtered by patient; '' for entries about no patient. Filled from
-- entity_id for the entries about a patient written before.
--
-- The *_retention partial indexes hold only the rows whose text has not been
-- purged yet, by age: the purge finds its next batch without scanning the
-- rows it already blanked, and a purged row leaves its index.

-- +goose Up
ALTER TABLE audit ADD COLUMN patient_id TEXT NOT NULL DEFAULT '';
UPDATE audit SET patient_id = entity_id WHERE entity = 'patient';
CREATE INDEX audit_clinic_at ON audit (clinic_id, at, id);
CREATE INDEX audit_patient ON audit (clinic_id, patient_id, at, id);

CREATE INDEX messages_retention ON messages (created_at) WHERE body <> '' OR subject <> '' OR html <> '';
CREATE INDEX outbox_retention ON outbox (created_at) WHERE body <> '' OR subject <> '' OR html <> '' OR headers <> '';
CREATE INDEX send_messages_retention ON send_messages (created_at) WHERE text <> '' OR data_json <> '';
CREATE INDEX inbound_sms_retention ON inbound_sms (received_at) WHERE body <> '';

-- +goose Down
DROP INDEX inbound_sms_retention;
DROP INDEX send_messages_retention;
DROP INDEX outbox_retention;
DROP INDEX messages_retention;
DROP INDEX audit_patient;
DROP INDEX audit_clinic_at;
ALTER TABLE audit DROP COLUMN patient_id;
