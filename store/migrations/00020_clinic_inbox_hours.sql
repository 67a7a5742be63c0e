-- When the clinic's staff read patients' messages, by language, as a JSON
-- object ({"en": "weekdays 8 AM to 5 PM", "es": "…"}), '' when not set:
-- the acknowledgement of a patient's free text says it.

-- +goose Up
ALTER TABLE clinics ADD COLUMN inbox_hours TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clinics DROP COLUMN inbox_hours;
