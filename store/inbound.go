package store

import "context"

const inboundCols = `id, clinic_id, transport, format, control_id, digest, body, outcome,
	result, detail, appointment_id, received_at`

func scanInbound(r scanner) (InboundMessage, error) {
	var m InboundMessage
	err := r.Scan(&m.ID, &m.ClinicID, &m.Transport, &m.Format, &m.ControlID, &m.Digest,
		&m.Body, &m.Outcome, &m.Result, &m.Detail, &m.AppointmentID, ms{&m.ReceivedAt})
	return m, err
}

// inboundColCount is the number of columns in inboundCols.
const inboundColCount = 12

// inboundArgs are an inbound message's values in inboundCols order (an
// empty id gets one).
func inboundArgs(m InboundMessage) []any {
	if m.ID == "" {
		m.ID = NewID("inb_")
	}
	return []any{m.ID, m.ClinicID, m.Transport, m.Format, m.ControlID, m.Digest, m.Body, m.Outcome,
		m.Result, m.Detail, m.AppointmentID, stamp(m.ReceivedAt).UnixMilli()}
}

func (q *queries) InboundInsert(ctx context.Context, m InboundMessage) error {
	_, err := q.exec(ctx, "inbound.insert", `INSERT INTO inbound_messages (`+inboundCols+`) VALUES `+
		valueRows(1, inboundColCount), inboundArgs(m)...)
	return err
}

func (q *queries) InboundGet(ctx context.Context, id string) (InboundMessage, error) {
	return get(ctx, q, "inbound.get", scanInbound,
		`SELECT `+inboundCols+` FROM inbound_messages WHERE id = $1`, id)
}

func (q *queries) InboundList(ctx context.Context, f InboundFilter) ([]InboundMessage, error) {
	var w where
	if f.ClinicID != "" {
		w.add("clinic_id = ?", f.ClinicID)
	}
	if !f.Since.IsZero() {
		w.add("received_at >= ?", f.Since.UnixMilli())
	}
	if f.AfterID != "" {
		c, err := q.InboundGet(ctx, f.AfterID)
		if err != nil {
			return nil, err
		}
		at := c.ReceivedAt.UnixMilli()
		w.add("(received_at > ? OR (received_at = ? AND id > ?))", at, at, c.ID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return list(ctx, q, "inbound.list", scanInbound,
		`SELECT `+inboundCols+` FROM inbound_messages`+w.String()+
			` ORDER BY received_at, id`+limitClause(limit), w.args...)
}
