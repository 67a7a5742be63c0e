package store

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/beckonhealth/beckon"
)

// The message itself is raw (bytes); body is the text column of rows archived
// before raw existed (migration 00006), read when raw is NULL.
const inboundCols = `id, clinic_id, transport, format, control_id, digest, body, raw, outcome,
	result, detail, appointment_id, received_at`

func scanInbound(r scanner) (beckon.InboundMessage, error) {
	var m beckon.InboundMessage
	var body string
	err := r.Scan(&m.ID, &m.ClinicID, &m.Transport, &m.Format, &m.ControlID, &m.Digest,
		&body, &m.Raw, &m.Outcome, &m.Result, &m.Detail, &m.AppointmentID, ms{&m.ReceivedAt})
	if m.Raw == nil && body != "" {
		m.Raw = []byte(body)
	}
	return m, err
}

// inboundColCount is the number of columns in inboundCols.
const inboundColCount = 13

// inboundArgs are an inbound message's values in inboundCols order (an
// empty id gets one). The text columns are made text: the archive keeps
// every message, and a control id or detail read from a message that is
// refused for its bytes must not make PostgreSQL refuse the row.
func (q *queries) inboundArgs(m beckon.InboundMessage) []any {
	if m.ID == "" {
		m.ID = beckon.NewID("inb_")
	}
	raw := m.Raw
	if raw == nil {
		raw = []byte{}
	}
	return []any{m.ID, m.ClinicID, m.Transport, m.Format, storableText(m.ControlID), m.Digest, "", raw,
		m.Outcome, m.Result, storableText(m.Detail), storableText(m.AppointmentID), q.stamp(m.ReceivedAt).UnixMilli()}
}

// storableText is s as both databases keep it: valid UTF-8 without NUL
// bytes (invalid sequences become U+FFFD, NULs are dropped).
func storableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func (q *queries) InboundInsert(ctx context.Context, m beckon.InboundMessage) error {
	_, err := q.exec(ctx, "inbound.insert", `INSERT INTO inbound_messages (`+inboundCols+`) VALUES `+
		valueRows(1, inboundColCount), q.inboundArgs(m)...)
	return err
}

func (q *queries) InboundGet(ctx context.Context, clinicID, id string) (beckon.InboundMessage, error) {
	if clinicID == "" {
		return get(ctx, q, "inbound.get", scanInbound,
			`SELECT `+inboundCols+` FROM inbound_messages WHERE id = $1`, id)
	}
	return get(ctx, q, "inbound.get", scanInbound,
		`SELECT `+inboundCols+` FROM inbound_messages WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

func (q *queries) InboundList(ctx context.Context, f beckon.InboundFilter) ([]beckon.InboundMessage, error) {
	var w where
	if f.ClinicID != "" {
		w.add("clinic_id = ?", f.ClinicID)
	}
	if !f.Since.IsZero() {
		w.add("received_at >= ?", f.Since.UnixMilli())
	}
	if f.AfterID != "" {
		c, err := q.InboundGet(ctx, f.ClinicID, f.AfterID)
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
