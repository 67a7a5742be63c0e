-- What a patient is shown of an appointment, next to the ids campaigns match
-- on: the provider's and the location's display names, and the scheduling
-- notes the EHR sent (HL7 NTE), kept for staff. Existing rows get empty
-- names: templates then show the id, as before.

-- +goose Up
ALTER TABLE appointments ADD COLUMN provider_name TEXT NOT NULL DEFAULT '';
ALTER TABLE appointments ADD COLUMN location_name TEXT NOT NULL DEFAULT '';
ALTER TABLE appointments ADD COLUMN notes TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE appointments DROP COLUMN notes;
ALTER TABLE appointments DROP COLUMN location_name;
ALTER TABLE appointments DROP COLUMN provider_name;
