package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/beckonhealth/beckon"
)

const sendMessageCols = `send_id, clinic_id, appointment_id, to_addr, text, language, in_reply_to,
	consent_exempt, quiet_exempt, data_json, requested_by, created_at`

// SendPlanMessage inserts the ledger row (no campaign, no appointment: see
// migration 00013) and, only when it is new, the message's own row, in one
// transaction. An id another clinic holds is ErrConflict.
func (q *queries) SendPlanMessage(ctx context.Context, p beckon.MessageSendParams) (beckon.Send, bool, error) {
	if err := p.Validate(); err != nil {
		return beckon.Send{}, false, fmt.Errorf("store: send.plan_message: %w: %s", beckon.ErrInvalidData, err.Error())
	}
	data := ""
	if len(p.Data) > 0 {
		b, err := json.Marshal(p.Data)
		if err != nil {
			return beckon.Send{}, false, fmt.Errorf("store: send.plan_message: %w", err)
		}
		data = string(b)
	}
	now := q.now()
	sd := beckon.Send{
		ID:        p.ID,
		ClinicID:  p.ClinicID,
		PatientID: p.PatientID,
		Channel:   p.Channel,
		Template:  p.Template,
		DueAt:     orTime(p.DueAt, now),
		Status:    beckon.SendPlanned,
		CreatedAt: now,
		UpdatedAt: now,
	}
	var (
		out     beckon.Send
		created bool
	)
	err := q.atomic(ctx, func(q *queries) error {
		ok, err := q.execOne(ctx, "send.plan_message", `INSERT INTO sends (`+sendCols+`) VALUES `+
			valueRows(1, sendColCount)+` ON CONFLICT (id) DO NOTHING`, sendArgs(sd, now)...)
		if err != nil {
			return err
		}
		if !ok {
			out, err = q.SendGet(ctx, p.ClinicID, p.ID)
			if errors.Is(err, beckon.ErrNotFound) {
				return fmt.Errorf("store: send.plan_message: the id is another clinic's: %w", beckon.ErrConflict)
			}
			return err
		}
		created, out = true, sd
		_, err = q.exec(ctx, "send.plan_message_content", `INSERT INTO send_messages (`+sendMessageCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			p.ID, p.ClinicID, p.AppointmentID, p.To, p.Text, p.Language, p.InReplyTo,
			p.ConsentExempt, p.QuietExempt, data, p.By, now.UnixMilli())
		return err
	})
	if err != nil {
		return beckon.Send{}, false, err
	}
	return out, created, nil
}

// SendMessageGet joins the ledger row for what the params hold of it.
func (q *queries) SendMessageGet(ctx context.Context, clinicID, sendID string) (beckon.MessageSendParams, error) {
	return get(ctx, q, "send.message_get", func(r scanner) (beckon.MessageSendParams, error) {
		var (
			p    beckon.MessageSendParams
			data string
		)
		err := r.Scan(&p.ID, &p.ClinicID, &p.PatientID, (*string)(&p.Channel), &p.Template, ms{&p.DueAt},
			&p.AppointmentID, &p.To, &p.Text, &p.Language, &p.InReplyTo, &p.ConsentExempt, &p.QuietExempt,
			&data, &p.By)
		if err == nil && data != "" {
			err = json.Unmarshal([]byte(data), &p.Data)
		}
		return p, err
	}, `SELECT s.id, s.clinic_id, s.patient_id, s.channel, s.template, s.due_at,
			m.appointment_id, m.to_addr, m.text, m.language, m.in_reply_to, m.consent_exempt, m.quiet_exempt,
			m.data_json, m.requested_by
		FROM sends s JOIN send_messages m ON m.send_id = s.id AND m.clinic_id = s.clinic_id
		WHERE s.clinic_id = $1 AND s.id = $2`, clinicID, sendID)
}
