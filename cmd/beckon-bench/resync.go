package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// writes is what the store holds for one clinic that a re-sent, unchanged
// schedule must leave as it is.
type writes struct {
	planned, superseded, sends, audit, versions int64
	lastUpdate                                  int64 // latest appointments.updated_at
}

// countWrites reads the clinic's sends, audit rows and appointment versions
// from the store directly.
func (s *stack) countWrites(ctx context.Context, clinicID string) (writes, error) {
	var w writes
	db, err := s.openDB()
	if err != nil {
		return w, err
	}
	defer db.Close()
	q := func(query string, dst *int64) error {
		return db.QueryRowContext(ctx, query, clinicID).Scan(dst)
	}
	return w, errors.Join(
		q(`SELECT COUNT(*) FROM sends WHERE clinic_id = $1 AND status = 'planned'`, &w.planned),
		q(`SELECT COUNT(*) FROM sends WHERE clinic_id = $1 AND status = 'superseded'`, &w.superseded),
		q(`SELECT COUNT(*) FROM sends WHERE clinic_id = $1`, &w.sends),
		q(`SELECT COUNT(*) FROM audit WHERE clinic_id = $1`, &w.audit),
		q(`SELECT COALESCE(SUM(version), 0) FROM appointments WHERE clinic_id = $1`, &w.versions),
		q(`SELECT COALESCE(MAX(updated_at), 0) FROM appointments WHERE clinic_id = $1`, &w.lastUpdate),
	)
}

// openDB opens this run's database for reading figures the store's
// interface does not give. In both dialects $1 is a numbered parameter.
func (s *stack) openDB() (*sql.DB, error) {
	if s.dbPath != "" {
		return sql.Open("sqlite", "file:"+s.dbPath+"?_pragma=busy_timeout(5000)")
	}
	return sql.Open("pgx", s.dsn)
}

// benchResync sends the ingest phase's appointments a second time, unchanged,
// as EHRs re-send whole schedules, and reports its rate against the first
// ingest's and what it wrote: it should write nothing.
func (s *stack) benchResync(ctx context.Context) ([]result, error) {
	if s.ingested == nil {
		return nil, fmt.Errorf("run the ingest phase first (-phases ingest,resync)")
	}
	in := *s.ingested
	before, err := s.countWrites(ctx, in.clinicID)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	if err := s.postAppointments(ctx, in); err != nil {
		return nil, err
	}
	took := time.Since(began)
	after, err := s.countWrites(ctx, in.clinicID)
	if err != nil {
		return nil, err
	}
	rate := float64(in.n) / took.Seconds()
	updated := 0.0
	if after.lastUpdate != before.lastUpdate {
		updated = 1
	}
	return []result{
		{"resync", "appointments", float64(in.n), "count"},
		{"resync", "appointments/s", rate, "1/s"},
		{"resync", "rate against first ingest", rate / in.rate, "x"},
		{"resync", "sends superseded", float64(after.superseded - before.superseded), "count"},
		{"resync", "sends newly planned", float64(after.sends - before.sends), "count"},
		{"resync", "appointment versions bumped", float64(after.versions - before.versions), "count"},
		{"resync", "appointments updated_at moved", updated, "0/1"},
		{"resync", "audit rows written", float64(after.audit - before.audit), "count"},
	}, nil
}
