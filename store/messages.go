package store

import (
	"context"

	"github.com/beckonhealth/beckon"
)

const messageCols = `id, clinic_id, patient_id, appointment_id, send_id, direction, channel,
	to_addr, from_addr, subject, body, html, status, provider, provider_id, created_at, updated_at`

// defaultListLimit is the page size of lists whose Limit is 0.
const defaultListLimit = 100

func scanMessage(r scanner) (beckon.Message, error) {
	var m beckon.Message
	err := r.Scan(&m.ID, &m.ClinicID, &m.PatientID, &m.AppointmentID, &m.SendID, &m.Direction,
		(*string)(&m.Channel), &m.To, &m.From, &m.Subject, &m.Body, &m.HTML, &m.Status, &m.Provider,
		&m.ProviderID, ms{&m.CreatedAt}, ms{&m.UpdatedAt})
	return m, err
}

func scanMessageEvent(r scanner) (beckon.MessageEvent, error) {
	var e beckon.MessageEvent
	err := r.Scan(&e.MessageID, &e.Status, &e.Detail, ms{&e.At})
	return e, err
}

// messageColCount is the number of columns in messageCols.
const messageColCount = 17

// messageArgs are a message's values in messageCols order.
func (q *queries) messageArgs(m beckon.Message) []any {
	created := q.stamp(m.CreatedAt)
	return []any{m.ID, m.ClinicID, m.PatientID, m.AppointmentID, m.SendID, m.Direction, string(m.Channel),
		m.To, m.From, m.Subject, m.Body, m.HTML, m.Status, m.Provider, m.ProviderID,
		created.UnixMilli(), orTime(m.UpdatedAt, created).UnixMilli()}
}

// MessageInsert stores a message (an empty ID gets one; Events are ignored);
// ErrConflict if the id exists.
func (q *queries) MessageInsert(ctx context.Context, m beckon.Message) error {
	if m.ID == "" {
		m.ID = beckon.NewID("msg_")
	}
	ok, err := q.execOne(ctx, "message.insert", `INSERT INTO messages (`+messageCols+`) VALUES `+
		valueRows(1, messageColCount)+` ON CONFLICT DO NOTHING`, q.messageArgs(m)...)
	if err == nil && !ok {
		return beckon.ErrConflict
	}
	return err
}

func (q *queries) MessageGet(ctx context.Context, clinicID, id string) (beckon.Message, error) {
	m, err := get(ctx, q, "message.get", scanMessage,
		`SELECT `+messageCols+` FROM messages WHERE clinic_id = $1 AND id = $2`, clinicID, id)
	if err != nil {
		return m, err
	}
	m.Events, err = list(ctx, q, "message.get_events", scanMessageEvent, `
		SELECT message_id, status, detail, at FROM message_events
		WHERE message_id = $1 AND clinic_id = $2
		ORDER BY at, id`, id, clinicID)
	return m, err
}

// MessageList returns newest first. Before names a message of the clinic;
// ErrNotFound if there is none.
func (q *queries) MessageList(ctx context.Context, f beckon.MessageFilter) ([]beckon.Message, error) {
	var w where
	w.add("clinic_id = ?", f.ClinicID)
	for _, c := range []struct{ col, v string }{
		{"patient_id", f.PatientID},
		{"appointment_id", f.AppointmentID},
		{"send_id", f.SendID},
		{"direction", f.Direction},
		{"channel", string(f.Channel)},
		{"status", f.Status},
	} {
		if c.v != "" {
			w.add(c.col+" = ?", c.v)
		}
	}
	if !f.Since.IsZero() {
		w.add("created_at >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		w.add("created_at < ?", f.Until.UnixMilli())
	}
	if f.Before != "" {
		if err := q.addBefore(ctx, &w, "message.list_cursor", "messages", "created_at", f.ClinicID, f.Before); err != nil {
			return nil, err
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	return list(ctx, q, "message.list", scanMessage,
		`SELECT `+messageCols+` FROM messages`+w.String()+
			` ORDER BY created_at DESC, id DESC`+limitClause(limit), w.args...)
}

// MessageEventAppend stores the event (an empty At is now) and sets the
// message's Status and UpdatedAt, atomically; ErrNotFound if the clinic has
// no such message.
func (q *queries) MessageEventAppend(ctx context.Context, clinicID string, e beckon.MessageEvent) error {
	at := q.stamp(e.At).UnixMilli()
	return q.atomic(ctx, func(q *queries) error {
		ok, err := q.execOne(ctx, "message.event_append", `
			UPDATE messages SET status = $3, updated_at = $4
			WHERE clinic_id = $1 AND id = $2`, clinicID, e.MessageID, e.Status, at)
		if err != nil {
			return err
		}
		if !ok {
			return beckon.ErrNotFound
		}
		_, err = q.exec(ctx, "message.event_append", `
			INSERT INTO message_events (id, message_id, clinic_id, status, detail, at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			beckon.NewID("mev_"), e.MessageID, clinicID, e.Status, e.Detail, at)
		return err
	})
}
