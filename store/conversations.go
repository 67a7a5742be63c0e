package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
)

// ConversationGet implements beckon.ConversationQuerier.
func (q *queries) ConversationGet(ctx context.Context, clinicID, phone string) (beckon.ConversationState, error) {
	s := beckon.ConversationState{ClinicID: clinicID, Phone: phone}
	var choices string
	err := q.db.QueryRowContext(ctx, `
		SELECT question, choices, pending, message_id, expires_at, updated_at
		FROM conversations WHERE clinic_id = $1 AND phone = $2`, clinicID, phone).
		Scan(&s.Question, &choices, &s.Pending, &s.MessageID, ms{&s.ExpiresAt}, ms{&s.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, translate("conversation.get", err)
	}
	if choices != "" {
		s.Choices = strings.Split(choices, "\n")
	}
	return s, nil
}

// ConversationPut implements beckon.ConversationQuerier. Appointment ids
// cannot hold a newline (the API refuses them), so the choices are kept one
// per line.
func (q *queries) ConversationPut(ctx context.Context, s beckon.ConversationState) error {
	if s.Question == "" {
		_, err := q.exec(ctx, "conversation.clear",
			`DELETE FROM conversations WHERE clinic_id = $1 AND phone = $2`, s.ClinicID, s.Phone)
		return err
	}
	for _, c := range s.Choices {
		if c == "" || strings.ContainsAny(c, "\r\n") {
			return errors.Join(beckon.ErrInvalidData, errors.New("a conversation choice is empty or holds a line break"))
		}
	}
	_, err := q.exec(ctx, "conversation.put", `
		INSERT INTO conversations (clinic_id, phone, question, choices, pending, message_id, expires_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (clinic_id, phone) DO UPDATE SET
			question = excluded.question, choices = excluded.choices, pending = excluded.pending,
			message_id = excluded.message_id, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		s.ClinicID, s.Phone, s.Question, strings.Join(s.Choices, "\n"), s.Pending, s.MessageID,
		s.ExpiresAt.UnixMilli(), q.stamp(s.UpdatedAt).UnixMilli())
	return err
}

// ReplyCandidates implements beckon.ConversationQuerier.
func (q *queries) ReplyCandidates(ctx context.Context, clinicID, phone string, now, messagedSince time.Time, limit int) ([]beckon.ReplyCandidate, error) {
	if limit <= 0 {
		limit = 10
	}
	// CROSS JOIN makes SQLite start from the number's patients (patients_phone)
	// rather than from every upcoming appointment of the clinic
	// (appointments_start), which it picks without statistics; PostgreSQL
	// plans it as the inner join it is.
	rows, err := q.db.QueryContext(ctx, `
		SELECT a.id, a.patient_id, p.first_name, p.language, p.time_zone, a.start_at
		FROM patients p
		CROSS JOIN appointments a
		WHERE a.clinic_id = p.clinic_id AND a.patient_id = p.id
			AND p.clinic_id = $1 AND p.phone = $2 AND p.phone <> '' AND a.start_at > $3
			AND a.status NOT IN ('`+string(beckon.StatusCancelled)+`', '`+string(beckon.StatusNoShow)+`')
			AND EXISTS (SELECT 1 FROM sends s
				WHERE s.clinic_id = a.clinic_id AND s.appointment_id = a.id
					AND s.status = '`+string(beckon.SendSent)+`' AND s.sent_at >= $4)
		ORDER BY a.start_at, a.id
		LIMIT $5`, clinicID, phone, now.UnixMilli(), messagedSince.UnixMilli(), limit)
	if err != nil {
		return nil, translate("reply.candidates", err)
	}
	defer rows.Close()
	var out []beckon.ReplyCandidate
	for rows.Next() {
		var c beckon.ReplyCandidate
		if err := rows.Scan(&c.AppointmentID, &c.PatientID, &c.FirstName, &c.Language, &c.TimeZone, ms{&c.Start}); err != nil {
			return nil, translate("reply.candidates", err)
		}
		out = append(out, c)
	}
	return out, translate("reply.candidates", rows.Err())
}
