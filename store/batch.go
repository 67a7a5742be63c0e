package store

import (
	"context"
	"strings"

	"github.com/beckonhealth/beckon"
)

// batchChunk bounds the rows (or ids) of one statement, well under the
// parameter limits of both PostgreSQL (65535) and SQLite (32766).
const batchChunk = 500

func chunks[T any](xs []T, n int, fn func([]T) error) error {
	for start := 0; start < len(xs); start += n {
		if err := fn(xs[start:min(start+n, len(xs))]); err != nil {
			return err
		}
	}
	return nil
}

func inList(w *where, ids []string) string {
	ph := make([]string, len(ids))
	for i, id := range ids {
		ph[i] = w.arg(id)
	}
	return "(" + strings.Join(ph, ", ") + ")"
}

// getMany runs selectFrom for the clinic's rows whose key column is among
// ids, batchChunk ids a statement, and returns them by key.
func getMany[T any](ctx context.Context, q *queries, op, selectFrom, key, clinicID string, ids []string,
	scan func(scanner) (T, error), keyOf func(T) string) (map[string]T, error) {
	out := make(map[string]T, len(ids))
	err := chunks(ids, batchChunk, func(part []string) error {
		var w where
		w.add("clinic_id = ?", clinicID)
		w.add(key + " IN " + inList(&w, part))
		rows, err := list(ctx, q, op, scan, selectFrom+w.String(), w.args...)
		for _, r := range rows {
			out[keyOf(r)] = r
		}
		return err
	})
	return out, err
}

func (q *queries) AppointmentGetMany(ctx context.Context, clinicID string, ids []string) (map[string]beckon.Appointment, error) {
	return getMany(ctx, q, "appointment.get_many", `SELECT `+appointmentCols+` FROM appointments`, "id",
		clinicID, ids, scanAppointment, func(a beckon.Appointment) string { return a.ID })
}

func (q *queries) PatientGetMany(ctx context.Context, clinicID string, ids []string) (map[string]beckon.Patient, error) {
	return getMany(ctx, q, "patient.get_many", `SELECT `+patientCols+` FROM patients`, "id",
		clinicID, ids, scanPatient, func(p beckon.Patient) string { return p.ID })
}

// appointmentColCount is the number of columns in appointmentCols.
const appointmentColCount = 16

// AppointmentPutMany is one upsert per chunk whose update applies only where
// the stored version is the expected one; a short row count is a lost race.
func (q *queries) AppointmentPutMany(ctx context.Context, as []beckon.Appointment, expect []int64) error {
	type row struct {
		a      beckon.Appointment
		expect int64
	}
	rows := make([]row, len(as))
	for i := range as {
		rows[i] = row{as[i], expect[i]}
	}
	return q.atomic(ctx, func(q *queries) error {
		return chunks(rows, batchChunk/2, func(part []row) error {
			var b strings.Builder
			b.WriteString(`INSERT INTO appointments (` + appointmentCols + `) VALUES ` +
				valueRows(len(part), appointmentColCount))
			args := make([]any, 0, len(part)*appointmentColCount)
			for _, r := range part {
				args = append(args, q.appointmentArgs(r.a)...)
			}
			b.WriteString(appointmentPutConflict)
			for _, r := range part {
				if r.a.Version != r.expect+1 {
					return beckon.ErrConflict
				}
			}
			n, err := q.exec(ctx, "appointment.put_many", b.String(), args...)
			if err != nil {
				return err
			}
			if int(n) != len(part) {
				return beckon.ErrConflict
			}
			return nil
		})
	})
}

func (q *queries) SendSupersedeMany(ctx context.Context, p beckon.SendSupersedeManyParams) (int, error) {
	total := 0
	keep := make(map[string]bool, len(p.Keep))
	for _, id := range p.Keep {
		keep[id] = true
	}
	err := chunks(p.AppointmentIDs, batchChunk/5, func(part []string) error {
		// Only the planned sends of these appointments can be superseded; find
		// them first so the NOT IN list stays as short as the chunk.
		var w where
		w.add("clinic_id = ?", p.ClinicID)
		w.add("status = '" + string(beckon.SendPlanned) + "'")
		w.add("appointment_id IN " + inList(&w, part))
		rows, err := q.db.QueryContext(ctx, `SELECT id FROM sends`+w.String(), w.args...)
		if err != nil {
			return translate("send.supersede_many", err)
		}
		var drop []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return translate("send.supersede_many", err)
			}
			if !keep[id] {
				drop = append(drop, id)
			}
		}
		if err := rows.Close(); err != nil {
			return translate("send.supersede_many", err)
		}
		return chunks(drop, batchChunk, func(ids []string) error {
			var u where
			reason, now := u.arg(p.Reason), u.arg(q.stamp(p.Now).UnixMilli())
			u.add("status = '" + string(beckon.SendPlanned) + "'")
			u.add("id IN " + inList(&u, ids))
			n, err := q.exec(ctx, "send.supersede_many", `UPDATE sends SET status = '`+string(beckon.SendSuperseded)+
				`', reason = `+reason+`, updated_at = `+now+u.String(), u.args...)
			total += int(n)
			return err
		})
	})
	return total, err
}

func (q *queries) AuditAppendMany(ctx context.Context, es []beckon.AuditEntry) error {
	return q.atomic(ctx, func(q *queries) error {
		return chunks(es, batchChunk, func(part []beckon.AuditEntry) error {
			args := make([]any, 0, len(part)*auditColCount)
			for _, e := range part {
				args = append(args, q.auditArgs(e)...)
			}
			_, err := q.exec(ctx, "audit.append_many",
				`INSERT INTO audit (`+auditCols+`) VALUES `+valueRows(len(part), auditColCount), args...)
			return err
		})
	})
}

func (q *queries) MessageRecord(ctx context.Context, m beckon.Message, events []beckon.MessageEvent) error {
	if len(events) > 0 {
		m.Status = events[len(events)-1].Status
	}
	if m.ID == "" {
		m.ID = beckon.NewID("msg_")
	}
	return q.atomic(ctx, func(q *queries) error {
		if err := q.MessageInsert(ctx, m); err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		args := make([]any, 0, len(events)*6)
		for _, e := range events {
			args = append(args, beckon.NewID("mev_"), m.ID, m.ClinicID, e.Status, e.Detail, q.stamp(e.At).UnixMilli())
		}
		_, err := q.exec(ctx, "message.record", `INSERT INTO message_events (id, message_id, clinic_id, status, detail, at) VALUES `+
			valueRows(len(events), 6), args...)
		return err
	})
}
