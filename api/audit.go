package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/coalesce"
)

// Group writes of the read audit.
const (
	auditGroupRows = 1000             // entries one write gathers
	auditWriters   = 2                // writes in flight at once
	auditTimeout   = 10 * time.Second // bound on one write
)

// auditWriter records the reads of patient data in the audit trail. The
// entries of concurrent requests go in one statement: a read alone is
// written at once, reads that arrive while a write is in flight share the
// next one, so a busy API pays a few inserts per round trip instead of one
// per read. A read answers only once its entries are stored.
type auditWriter struct {
	once  sync.Once
	reads *coalesce.Batcher[[]beckon.AuditEntry, struct{}]
}

func (w *auditWriter) write(ctx context.Context, st beckon.Store, entries []beckon.AuditEntry) error {
	w.once.Do(func() {
		w.reads = &coalesce.Batcher[[]beckon.AuditEntry, struct{}]{
			Max: auditGroupRows, Lanes: auditWriters, Timeout: auditTimeout,
			Weight: func(es []beckon.AuditEntry) int { return len(es) },
			Run: func(ctx context.Context, reqs [][]beckon.AuditEntry) ([]struct{}, error) {
				var all []beckon.AuditEntry
				for _, es := range reqs {
					all = append(all, es...)
				}
				return make([]struct{}, len(reqs)), st.AuditAppendMany(ctx, all)
			},
		}
	})
	_, err := w.reads.Do(ctx, entries)
	return err
}

// auditRead records that the request's key read one record (entity, id)
// holding data of the patient (may be empty). The read fails if the entry
// cannot be stored: no patient data leaves unrecorded.
func (s *Server) auditRead(ctx context.Context, op, action, entity, id, patientID string) error {
	k := keyFrom(ctx)
	return s.auditWrite(ctx, op, []beckon.AuditEntry{{
		ClinicID: k.ClinicID, Actor: actor(k), Action: action,
		Entity: entity, EntityID: id, PatientID: patientID, Detail: auditDetail(op, 1),
	}})
}

// auditReadPatients records a list's read: one entry per patient whose
// records it returned (Entity patient), and one for the records of no
// known patient (Entity the list's).
func (s *Server) auditReadPatients(ctx context.Context, op, action, entity string, patientIDs []string) error {
	k := keyFrom(ctx)
	counts := map[string]int{}
	var order []string
	for _, p := range patientIDs {
		if counts[p] == 0 {
			order = append(order, p)
		}
		counts[p]++
	}
	entries := make([]beckon.AuditEntry, 0, len(order))
	for _, p := range order {
		e := beckon.AuditEntry{ClinicID: k.ClinicID, Actor: actor(k), Action: action,
			Entity: "patient", EntityID: p, PatientID: p, Detail: auditDetail(op, counts[p])}
		if p == "" {
			e.Entity = entity
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil
	}
	return s.auditWrite(ctx, op, entries)
}

func (s *Server) auditWrite(ctx context.Context, op string, entries []beckon.AuditEntry) error {
	if err := s.reads.write(ctx, s.store, entries); err != nil {
		return s.mapError(op, err)
	}
	return nil
}

// auditDetail is an entry's detail: the operation and how many records of
// the patient it returned.
func auditDetail(op string, count int) string {
	return fmt.Sprintf(`{"op":%q,"count":%d}`, op, count)
}

// AuditEntry is one entry of the audit trail.
type AuditEntry struct {
	ID        string    `json:"id"`
	Actor     string    `json:"actor" doc:"key:<key id> for an API key, system, ehr:<feed>"`
	KeyID     string    `json:"key_id,omitempty" doc:"The API key that made the request, when one did"`
	Action    string    `json:"action" example:"patient.read" doc:"What was done: e.g. patient.read, message.list, appointment.update"`
	Entity    string    `json:"entity" example:"patient"`
	EntityID  string    `json:"entity_id,omitempty"`
	PatientID string    `json:"patient_id,omitempty" doc:"The patient whose data it concerns"`
	Detail    string    `json:"detail,omitempty" doc:"JSON text: ids and counts, never patient data"`
	At        time.Time `json:"at"`
}

type listAuditInput struct {
	Since   string `query:"since" example:"2026-01-01T00:00:00Z" doc:"RFC 3339: at or after"`
	Until   string `query:"until" doc:"RFC 3339: before"`
	Action  string `query:"action" maxLength:"64" pattern:"^[a-z_.]+$" example:"patient.read"`
	Key     string `query:"key" maxLength:"64" pattern:"^[A-Za-z0-9_]+$" doc:"An API key id: what that key did"`
	Patient string `query:"patient" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$" doc:"A patient id: every entry about that patient"`
	Before  string `query:"before" maxLength:"64" doc:"Cursor: the next_before of the previous page"`
	Limit   int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type listAuditOutput struct {
	Body struct {
		Entries    []AuditEntry `json:"entries"`
		NextBefore string       `json:"next_before,omitempty" doc:"Pass as before for the next (older) page"`
	}
}

func (s *Server) registerAudit() {
	huma.Register(s.api, op("list-audit", http.MethodGet, "/v1/audit",
		"Your clinic's audit trail, newest first: changes, and reads of patient data with the key that made them (admin keys only)"),
		func(ctx context.Context, in *listAuditInput) (*listAuditOutput, error) {
			var fe fieldErrors
			f := beckon.AuditFilter{
				ClinicID:  keyFrom(ctx).ClinicID,
				Action:    in.Action,
				PatientID: in.Patient,
				Before:    in.Before,
				Limit:     in.Limit,
			}
			if in.Key != "" {
				f.Actor = "key:" + in.Key
			}
			f.Since = optionalInstant("since", in.Since, &fe)
			f.Until = optionalInstant("until", in.Until, &fe)
			if err := fe.err(); err != nil {
				return nil, err
			}
			es, err := s.store.AuditQuery(ctx, f)
			if err != nil {
				if in.Before != "" && errors.Is(err, beckon.ErrNotFound) {
					return nil, invalid("before", "no such entry in your clinic's audit trail")
				}
				return nil, s.mapError("list-audit", err)
			}
			out := &listAuditOutput{}
			out.Body.Entries = make([]AuditEntry, len(es))
			for i, e := range es {
				keyID, _ := strings.CutPrefix(e.Actor, "key:")
				if keyID == e.Actor {
					keyID = ""
				}
				out.Body.Entries[i] = AuditEntry{
					ID: e.ID, Actor: e.Actor, KeyID: keyID, Action: e.Action, Entity: e.Entity,
					EntityID: e.EntityID, PatientID: e.PatientID, Detail: e.Detail, At: e.At,
				}
			}
			if len(es) == f.Limit && len(es) > 0 {
				out.Body.NextBefore = es[len(es)-1].ID
			}
			return out, nil
		})
}
