package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
)

const patients = 1000

var httpClient = &http.Client{
	Timeout:   2 * time.Minute,
	Transport: &http.Transport{MaxIdleConnsPerHost: 32},
}

// call sends one API request and fails on anything but 2xx.
func (s *stack) call(ctx context.Context, key, method, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return nil
}

// putPatients creates the clinic's patients through the API.
func (s *stack) putPatients(ctx context.Context, key string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range patients {
		g.Go(func() error {
			return s.call(gctx, key, http.MethodPut, fmt.Sprintf("/v1/patients/p%d", i), map[string]any{
				"first_name": "Pat", "phone": fmt.Sprintf("+1415555%04d", i), "language": "en",
			})
		})
	}
	return g.Wait()
}

// ingested is what the ingest phase sent, so that the resync phase can send
// it again.
type ingested struct {
	clinicID, key string
	base          time.Time // start of the first appointment
	n             int
	rate          float64 // appointments/s of the first ingest
}

// postAppointments sends the n appointments through POST
// /v1/appointments/batch, a thousand a request, four requests at a time.
func (s *stack) postAppointments(ctx context.Context, in ingested) error {
	const batch = 1000
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for from := 0; from < in.n; from += batch {
		g.Go(func() error {
			var items []any
			for i := from; i < min(from+batch, in.n); i++ {
				items = append(items, map[string]any{
					"id":         fmt.Sprintf("a%d", i),
					"patient_id": fmt.Sprintf("p%d", i%patients),
					"start":      in.base.Add(time.Duration(i) * 10 * time.Second).Format(time.RFC3339),
					"duration":   "30m",
				})
			}
			return s.call(gctx, in.key, http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": items})
		})
	}
	return g.Wait()
}

// benchIngest measures POST /v1/appointments/batch with a three-step campaign,
// appointments 30 days ahead (beyond the pump's horizon), and what that costs
// in Redis memory and database size.
func (s *stack) benchIngest(ctx context.Context) ([]result, error) {
	c, key, err := s.clinic(ctx, "ingest")
	if err != nil {
		return nil, err
	}
	err = s.call(ctx, key, http.MethodPut, "/v1/campaigns/reminders", map[string]any{
		"name": "Reminders",
		"steps": []any{
			map[string]any{"id": "sms-72h", "offset": "-72h", "channel": "sms", "template": "appointment_reminder"},
			map[string]any{"id": "sms-24h", "offset": "-24h", "channel": "sms", "template": "appointment_reminder_confirm", "only_if_unconfirmed": true},
			map[string]any{"id": "day-before", "day": -1, "at": "09:00", "channel": "sms", "template": "appointment_reminder"},
		},
	})
	if err != nil {
		return nil, err
	}
	if err := s.putPatients(ctx, key); err != nil {
		return nil, err
	}
	memBefore, dbBefore := s.redisMemory(ctx), s.dbSize(ctx)
	n := s.cfg.appointments
	s.ingested = &ingested{clinicID: c.ID, key: key, base: time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Minute), n: n}
	began := time.Now()
	if err := s.postAppointments(ctx, *s.ingested); err != nil {
		return nil, err
	}
	took := time.Since(began)
	s.ingested.rate = float64(n) / took.Seconds()
	if _, err := s.app.Pump().RunOnce(ctx); err != nil { // a pass after the ingest, as the cron would run
		return nil, err
	}
	memAfter, dbAfter := s.redisMemory(ctx), s.dbSize(ctx)
	rs := []result{
		{"ingest", "appointments", float64(n), "count"},
		{"ingest", "appointments/s", float64(n) / took.Seconds(), "1/s"},
		{"ingest", "planned sends/s", float64(3*n) / took.Seconds(), "1/s"},
		{"ingest", "database per appointment", float64(dbAfter-dbBefore) / float64(n), "bytes"},
	}
	if memBefore >= 0 && memAfter >= 0 {
		rs = append(rs, result{"ingest", "Redis growth (30 days ahead)", float64(memAfter-memBefore) / 1024, "KiB"})
	}
	return rs, nil
}
