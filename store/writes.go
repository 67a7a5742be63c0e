package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/beckonhealth/beckon"
)

// checkPlanRevision returns ErrConflict unless the clinic is still at
// revision (or gone).
func (q *queries) checkPlanRevision(ctx context.Context, clinicID string, revision int64) error {
	var stored int64
	err := q.db.QueryRowContext(ctx, `SELECT plan_revision FROM clinics WHERE id = $1`, clinicID).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return beckon.ErrConflict
	}
	if err != nil {
		return translate("feed.write", err)
	}
	if stored != revision {
		return beckon.ErrConflict
	}
	return nil
}

func (q *queries) FeedStateGetMany(ctx context.Context, clinicID string, ids []string) (map[string]beckon.FeedState, error) {
	return getMany(ctx, q, "feed_state.get_many", `SELECT `+feedStateCols+` FROM feed_state`, "appointment_id",
		clinicID, ids, scanFeedState, func(s beckon.FeedState) string { return s.AppointmentID })
}

func (q *queries) feedStatePutMany(ctx context.Context, states []beckon.FeedState) error {
	return q.atomic(ctx, func(q *queries) error {
		return chunks(states, batchChunk, func(part []beckon.FeedState) error {
			args := make([]any, 0, len(part)*feedStateColCount)
			for _, s := range part {
				args = append(args, q.feedStateArgs(s)...)
			}
			_, err := q.exec(ctx, "feed_state.put_many", `INSERT INTO feed_state (`+feedStateCols+`) VALUES `+
				valueRows(len(part), feedStateColCount)+feedStateUpsertConflict, args...)
			return err
		})
	})
}

func (q *queries) patientUpsertMany(ctx context.Context, ps []beckon.Patient) error {
	return q.atomic(ctx, func(q *queries) error {
		return chunks(ps, batchChunk/2, func(part []beckon.Patient) error {
			args := make([]any, 0, len(part)*patientColCount)
			for _, p := range part {
				args = append(args, q.patientArgs(p)...)
			}
			_, err := q.exec(ctx, "patient.upsert_many", `INSERT INTO patients (`+patientCols+`) VALUES `+
				patientValueRows(1, len(part))+patientUpsertConflict, args...)
			return err
		})
	})
}

func (q *queries) inboundInsertMany(ctx context.Context, ms []beckon.InboundMessage) error {
	return q.atomic(ctx, func(q *queries) error {
		return chunks(ms, batchChunk/4, func(part []beckon.InboundMessage) error {
			args := make([]any, 0, len(part)*inboundColCount)
			for _, m := range part {
				args = append(args, q.inboundArgs(m)...)
			}
			_, err := q.exec(ctx, "inbound.insert_many",
				`INSERT INTO inbound_messages (`+inboundCols+`) VALUES `+valueRows(len(part), inboundColCount), args...)
			return err
		})
	})
}

// writeOneMaxArgs bounds the arguments of the single Write statement
// (PostgreSQL allows 65535); a larger batch is written a kind at a time.
const writeOneMaxArgs = 30_000

func (q *queries) Write(ctx context.Context, w beckon.Writes) error {
	_, sqlite := q.db.(sqliteConn)
	n := len(w.Patients)*patientColCount + len(w.Appointments)*appointmentColCount + len(w.Sends)*(sendColCount+1) +
		len(w.Audits)*auditColCount + len(w.FeedStates)*feedStateColCount + len(w.Inbound)*inboundColCount
	for _, sp := range w.Supersede {
		n += len(sp.AppointmentIDs) + 1
	}
	if sqlite || n > writeOneMaxArgs || len(w.Confirmations)+len(w.Writebacks) > 0 {
		return q.writeEach(ctx, w)
	}
	return q.writeOne(ctx, w)
}

// writeEach writes w a kind of row at a time.
func (q *queries) writeEach(ctx context.Context, w beckon.Writes) error {
	return q.atomic(ctx, func(q *queries) error {
		if w.PlanRevision != 0 {
			if err := q.checkPlanRevision(ctx, w.ClinicID, w.PlanRevision); err != nil {
				return err
			}
		}
		if len(w.Patients) > 0 {
			if err := q.patientUpsertMany(ctx, w.Patients); err != nil {
				return err
			}
		}
		if len(w.Appointments) > 0 {
			expect := make([]int64, len(w.Appointments))
			for i, a := range w.Appointments {
				expect[i] = a.Version - 1
			}
			if err := q.AppointmentPutMany(ctx, w.Appointments, expect); err != nil {
				return err
			}
		}
		if err := q.SendInsert(ctx, w.Sends); err != nil {
			return err
		}
		keep := make([]string, len(w.Sends))
		for i, sd := range w.Sends {
			keep[i] = sd.ID
		}
		for _, sp := range w.Supersede {
			if _, err := q.SendSupersedeMany(ctx, beckon.SendSupersedeManyParams{
				ClinicID:       w.ClinicID,
				AppointmentIDs: sp.AppointmentIDs,
				Keep:           keep,
				Reason:         sp.Reason,
				Now:            w.Now,
			}); err != nil {
				return err
			}
		}
		if len(w.Audits) > 0 {
			if err := q.AuditAppendMany(ctx, w.Audits); err != nil {
				return err
			}
		}
		if len(w.FeedStates) > 0 {
			if err := q.feedStatePutMany(ctx, w.FeedStates); err != nil {
				return err
			}
		}
		for _, c := range w.Confirmations {
			if err := q.ConfirmationInsert(ctx, c); err != nil {
				return err
			}
		}
		for _, wb := range w.Writebacks {
			if err := q.WritebackInsert(ctx, wb); err != nil {
				return err
			}
		}
		if len(w.Inbound) > 0 {
			return q.inboundInsertMany(ctx, w.Inbound)
		}
		return nil
	})
}

// writeOne writes w in one PostgreSQL statement of data-modifying WITH
// clauses: a round trip instead of six. The appointments' clause returns
// the rows it wrote, to tell a lost version race.
func (q *queries) writeOne(ctx context.Context, w beckon.Writes) error {
	var (
		b     strings.Builder
		args  []any
		parts int
	)
	clause := func(sql string) {
		if parts == 0 {
			b.WriteString("WITH ")
		} else {
			b.WriteString(",\n")
		}
		parts++
		fmt.Fprintf(&b, "w%d AS (%s)", parts, sql)
	}
	values := func(rows, cols int) string {
		v := valueRowsFrom(len(args)+1, rows, cols)
		return v
	}
	now := q.now()
	if len(w.Patients) > 0 {
		v := patientValueRows(len(args)+1, len(w.Patients))
		for _, p := range w.Patients {
			args = append(args, q.patientArgs(p)...)
		}
		clause(`INSERT INTO patients (` + patientCols + `) VALUES ` + v + patientUpsertConflict)
	}
	appts := 0
	if len(w.Appointments) > 0 {
		v := values(len(w.Appointments), appointmentColCount)
		for _, a := range w.Appointments {
			args = append(args, q.appointmentArgs(a)...)
		}
		// As AppointmentPutMany: the update applies only where the stored
		// version is the one before.
		clause(`INSERT INTO appointments (` + appointmentCols + `) VALUES ` + v + appointmentPutConflict + `
			RETURNING 1`)
		appts = parts
	}
	if len(w.Sends) > 0 {
		v := values(len(w.Sends), sendColCount)
		for _, s := range w.Sends {
			args = append(args, sendArgs(s, now)...)
		}
		clause(`INSERT INTO sends (` + sendCols + `) VALUES ` + v + ` ON CONFLICT (id) DO NOTHING`)
	}
	if len(w.Audits) > 0 {
		v := values(len(w.Audits), auditColCount)
		for _, e := range w.Audits {
			args = append(args, q.auditArgs(e)...)
		}
		clause(`INSERT INTO audit (` + auditCols + `) VALUES ` + v)
	}
	if len(w.FeedStates) > 0 {
		v := values(len(w.FeedStates), feedStateColCount)
		for _, s := range w.FeedStates {
			args = append(args, q.feedStateArgs(s)...)
		}
		clause(`INSERT INTO feed_state (` + feedStateCols + `) VALUES ` + v + feedStateUpsertConflict)
	}
	if len(w.Supersede) > 0 {
		keep := ""
		if len(w.Sends) > 0 {
			ph := make([]string, len(w.Sends))
			for i, sd := range w.Sends {
				args = append(args, sd.ID)
				ph[i] = "$" + strconv.Itoa(len(args))
			}
			keep = " AND id NOT IN (" + strings.Join(ph, ", ") + ")"
		}
		args = append(args, w.ClinicID, q.stamp(w.Now).UnixMilli())
		clinic, at := "$"+strconv.Itoa(len(args)-1), "$"+strconv.Itoa(len(args))
		for _, sp := range w.Supersede {
			ph := make([]string, len(sp.AppointmentIDs))
			for i, id := range sp.AppointmentIDs {
				args = append(args, id)
				ph[i] = "$" + strconv.Itoa(len(args))
			}
			args = append(args, sp.Reason)
			// As SendSupersedeMany. The statement's snapshot does not hold
			// the sends it inserts: only older ones are superseded.
			clause(`UPDATE sends SET status = '` + string(beckon.SendSuperseded) + `', reason = $` + strconv.Itoa(len(args)) +
				`, updated_at = ` + at + ` WHERE clinic_id = ` + clinic + ` AND status = '` + string(beckon.SendPlanned) +
				`' AND appointment_id IN (` + strings.Join(ph, ", ") + `)` + keep)
		}
	}
	if len(w.Inbound) > 0 {
		v := values(len(w.Inbound), inboundColCount)
		for _, m := range w.Inbound {
			args = append(args, q.inboundArgs(m)...)
		}
		clause(`INSERT INTO inbound_messages (` + inboundCols + `) VALUES ` + v)
	}
	if parts == 0 && w.PlanRevision == 0 {
		return nil
	}
	// What must hold for the statement to stand: every appointment written
	// (none lost its version race) and, with PlanRevision, the clinic and
	// its campaigns as planning saw them. The statement's snapshot is taken
	// before its writes: a change committed after it is one that a
	// transaction reading them first would have missed too. Each condition
	// is given to beckon_require (migration 00009), which raises SQLSTATE
	// BK409 when it fails: that undoes the whole statement, in a
	// transaction or not, and translate makes it ErrConflict.
	var checks []string
	if appts > 0 {
		args = append(args, int64(len(w.Appointments)))
		checks = append(checks, fmt.Sprintf(`beckon_require((SELECT count(*) FROM w%d) = $%d,
			'an appointment is no longer at the version before')`, appts, len(args)))
	}
	if w.PlanRevision != 0 {
		args = append(args, w.ClinicID, w.PlanRevision)
		checks = append(checks, fmt.Sprintf(`beckon_require((SELECT plan_revision FROM clinics WHERE id = $%d) IS NOT DISTINCT FROM $%d,
			'the clinic or its campaigns changed since planning')`, len(args)-1, len(args)))
	}
	if len(checks) == 0 {
		checks = append(checks, "TRUE")
	}
	fmt.Fprintf(&b, "\nSELECT %s", strings.Join(checks, " AND "))
	var held bool
	err := q.db.QueryRowContext(ctx, b.String(), args...).Scan(&held)
	return translate("feed.write", err)
}

// feedReadKinds are the column types of each kind of row FeedReadMany
// returns side by side in one UNION ALL (PostgreSQL needs a typed NULL in
// the columns of the other kinds).
var feedReadKinds = []struct {
	kind  string
	types []string
}{
	// feedStateCols
	{"f", []string{"TEXT", "TEXT", "BIGINT", "BIGINT", "TEXT", "BOOLEAN", "TEXT", "BIGINT"}},
	// appointmentCols
	{"a", []string{"TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT"}},
	// patientCols
	{"p", []string{"TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT"}},
}

func (q *queries) FeedReadMany(ctx context.Context, clinicID string, appointmentIDs, patientIDs []string) (beckon.FeedRead, error) {
	out := beckon.FeedRead{
		States:       make(map[string]beckon.FeedState, len(appointmentIDs)),
		Appointments: make(map[string]beckon.Appointment, len(appointmentIDs)),
		Patients:     make(map[string]beckon.Patient, len(patientIDs)),
	}
	if len(appointmentIDs)+len(patientIDs) > batchChunk {
		return out, fmt.Errorf("store: feed.read: %d ids, at most %d", len(appointmentIDs)+len(patientIDs), batchChunk)
	}
	if _, sqlite := q.db.(sqliteConn); sqlite {
		// In process, a statement costs no round trip, and SQLite prepares
		// three small ones faster than their union.
		var err error
		if out.States, err = q.FeedStateGetMany(ctx, clinicID, appointmentIDs); err != nil {
			return out, err
		}
		if out.Appointments, err = q.AppointmentGetMany(ctx, clinicID, appointmentIDs); err != nil {
			return out, err
		}
		out.Patients, err = q.PatientGetMany(ctx, clinicID, patientIDs)
		return out, err
	}
	var w where
	clinic := w.arg(clinicID)
	branch := func(kind, cols, from string) string {
		var b strings.Builder
		b.WriteString("SELECT '" + kind + "'")
		for _, k := range feedReadKinds {
			if k.kind == kind {
				b.WriteString(", " + cols)
				continue
			}
			for _, t := range k.types {
				b.WriteString(", CAST(NULL AS " + t + ")")
			}
		}
		b.WriteString(" FROM " + from)
		return b.String()
	}
	var branches []string
	if len(appointmentIDs) > 0 {
		appts := inList(&w, appointmentIDs)
		branches = append(branches,
			branch("f", feedStateCols, "feed_state WHERE clinic_id = "+clinic+" AND appointment_id IN "+appts),
			branch("a", appointmentCols, "appointments WHERE clinic_id = "+clinic+" AND id IN "+appts))
	}
	if len(patientIDs) > 0 {
		branches = append(branches, branch("p", patientCols, "patients WHERE clinic_id = "+clinic+" AND id IN "+inList(&w, patientIDs)))
	}
	if len(branches) == 0 {
		return out, nil
	}
	rows, err := q.db.QueryContext(ctx, strings.Join(branches, "\nUNION ALL\n"), w.args...)
	if err != nil {
		return out, translate("feed.read", err)
	}
	defer rows.Close()
	width := 1
	for _, k := range feedReadKinds {
		width += len(k.types)
	}
	vals, ptrs := rawRow(width)
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return out, translate("feed.read", err)
		}
		kind, _ := vals[0].(string)
		off := 1
		for _, k := range feedReadKinds {
			if k.kind == kind {
				break
			}
			off += len(k.types)
		}
		r := valueRow(vals[off:])
		switch kind {
		case "f":
			var s beckon.FeedState
			s, err = scanFeedState(r)
			out.States[s.AppointmentID] = s
		case "a":
			var a beckon.Appointment
			a, err = scanAppointment(r)
			out.Appointments[a.ID] = a
		case "p":
			var p beckon.Patient
			p, err = scanPatient(r)
			out.Patients[p.ID] = p
		default:
			err = fmt.Errorf("unexpected row kind %q", kind)
		}
		if err != nil {
			return out, translate("feed.read", err)
		}
	}
	return out, translate("feed.read", rows.Err())
}

// valueRow is a row already read as driver values, scanned again into the
// types the scan functions ask for.
type valueRow []any

func (r valueRow) Scan(dest ...any) error {
	if len(dest) > len(r) {
		return fmt.Errorf("scan %d columns from %d", len(dest), len(r))
	}
	for i, d := range dest {
		if err := assign(d, r[i]); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

// assign stores a driver value (nil, int64, string, []byte, bool) in dest.
func assign(dest, src any) error {
	switch d := dest.(type) {
	case sql.Scanner:
		return d.Scan(src)
	case *string:
		switch v := src.(type) {
		case nil:
			*d = ""
		case string:
			*d = v
		case []byte:
			*d = string(v)
		default:
			return fmt.Errorf("%T into string", src)
		}
	case *int64:
		switch v := src.(type) {
		case nil:
			*d = 0
		case int64:
			*d = v
		default:
			return fmt.Errorf("%T into int64", src)
		}
	case *int:
		switch v := src.(type) {
		case nil:
			*d = 0
		case int64:
			*d = int(v)
		default:
			return fmt.Errorf("%T into int", src)
		}
	case *bool:
		switch v := src.(type) {
		case nil:
			*d = false
		case bool:
			*d = v
		case int64:
			*d = v != 0
		default:
			return fmt.Errorf("%T into bool", src)
		}
	default:
		// A named string type (beckon.Channel, beckon.SendStatus, …).
		if rv := reflect.ValueOf(dest); rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.String {
			var s string
			if err := assign(&s, src); err != nil {
				return err
			}
			rv.Elem().SetString(s)
			return nil
		}
		return fmt.Errorf("unsupported destination %T", dest)
	}
	return nil
}
