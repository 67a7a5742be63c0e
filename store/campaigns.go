package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/beckonhealth/beckon"
)

const campaignCols = `clinic_id, id, name, active, match_json, steps_json, revision, created_at, updated_at`

func scanCampaign(r scanner) (beckon.Campaign, error) {
	var (
		c            beckon.Campaign
		match, steps string
	)
	if err := r.Scan(&c.ClinicID, &c.ID, &c.Name, &c.Active, &match, &steps, &c.Revision,
		ms{&c.CreatedAt}, ms{&c.UpdatedAt}); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(match), &c.Match); err != nil {
		return c, fmt.Errorf("campaign %s: match: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(steps), &c.Steps); err != nil {
		return c, fmt.Errorf("campaign %s: steps: %w", c.ID, err)
	}
	return c, nil
}

// CampaignPut inserts (expectRevision 0) or updates the campaign with one
// conditional statement and bumps its clinic's PlanRevision, in one
// transaction. Match and Steps are stored as JSON.
func (q *queries) CampaignPut(ctx context.Context, c beckon.Campaign, expectRevision int64) error {
	match, err := json.Marshal(c.Match)
	if err != nil {
		return fmt.Errorf("store: campaign.put: match: %w", err)
	}
	steps, err := json.Marshal(c.Steps)
	if err != nil {
		return fmt.Errorf("store: campaign.put: steps: %w", err)
	}
	return q.atomic(ctx, func(q *queries) error {
		if err := q.campaignWrite(ctx, c, string(match), string(steps), expectRevision); err != nil {
			return err
		}
		return q.bumpPlanRevision(ctx, "campaign.put", c.ClinicID)
	})
}

// campaignWrite is CampaignPut's conditional insert or update.
func (q *queries) campaignWrite(ctx context.Context, c beckon.Campaign, match, steps string, expectRevision int64) error {
	var (
		ok  bool
		err error
	)
	created := q.stamp(c.CreatedAt)
	if expectRevision == 0 {
		ok, err = q.execOne(ctx, "campaign.put", `
			INSERT INTO campaigns (`+campaignCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT DO NOTHING`,
			c.ClinicID, c.ID, c.Name, c.Active, match, steps, c.Revision,
			created.UnixMilli(), orTime(c.UpdatedAt, created).UnixMilli())
	} else {
		ok, err = q.execOne(ctx, "campaign.put", `
			UPDATE campaigns SET name = $3, active = $4, match_json = $5, steps_json = $6,
				revision = $7, updated_at = $8
			WHERE clinic_id = $1 AND id = $2 AND revision = $9`,
			c.ClinicID, c.ID, c.Name, c.Active, match, steps, c.Revision,
			q.stamp(c.UpdatedAt).UnixMilli(), expectRevision)
	}
	if err == nil && !ok {
		return beckon.ErrConflict
	}
	return err
}

func (q *queries) CampaignGet(ctx context.Context, clinicID, id string) (beckon.Campaign, error) {
	return get(ctx, q, "campaign.get", scanCampaign,
		`SELECT `+campaignCols+` FROM campaigns WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

func (q *queries) CampaignList(ctx context.Context, clinicID string) ([]beckon.Campaign, error) {
	return list(ctx, q, "campaign.list", scanCampaign,
		`SELECT `+campaignCols+` FROM campaigns WHERE clinic_id = $1 ORDER BY id`, clinicID)
}

// CampaignDelete removes the campaign and bumps its clinic's PlanRevision,
// in one transaction; ErrNotFound if it does not exist. Its sends stay:
// they are the ledger.
func (q *queries) CampaignDelete(ctx context.Context, clinicID, id string) error {
	return q.atomic(ctx, func(q *queries) error {
		ok, err := q.execOne(ctx, "campaign.delete",
			`DELETE FROM campaigns WHERE clinic_id = $1 AND id = $2`, clinicID, id)
		if err == nil && !ok {
			return beckon.ErrNotFound
		}
		if err != nil {
			return err
		}
		return q.bumpPlanRevision(ctx, "campaign.delete", clinicID)
	})
}
