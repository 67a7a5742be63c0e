-- plan_revision counts the changes to what planning reads of a clinic: the
-- clinic's own fields (time zone, quiet hours, name and phone, which
-- templates show) and its campaigns. ClinicUpdate, CampaignPut and
-- CampaignDelete bump it in the transaction of their change, so a writer
-- planned with revision n stands only while it is still n (Writes.PlanRevision).
-- (Version 9 is beckon_require, a Go migration: conflict_check.go.)

-- +goose Up
ALTER TABLE clinics ADD COLUMN plan_revision BIGINT NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE clinics DROP COLUMN plan_revision;
