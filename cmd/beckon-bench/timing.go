package main

import (
	"context"
	"slices"
	"time"

	"github.com/beckonhealth/beckon/store"
)

// benchTiming spreads sends evenly at the configured rate and measures how
// late each reached the stand-in, delivered by this process.
func (s *stack) benchTiming(ctx context.Context) ([]result, error) {
	c, err := s.plannedClinic(ctx, "timing")
	if err != nil {
		return nil, err
	}
	start := s.arrivals.count()
	k, first, err := s.bookSteady(ctx, c)
	if err != nil {
		return nil, err
	}
	l, err := s.lateness(ctx, c, start, k, first)
	if err != nil {
		return nil, err
	}
	return l.results("timing", s.cfg.rate), nil
}

// bookSteady books sends due evenly at the configured rate for the
// configured duration, the first a little after booking ends; it returns
// how many and when the first is due.
func (s *stack) bookSteady(ctx context.Context, c store.Clinic) (k int, first time.Time, err error) {
	k = int(float64(s.cfg.rate) * s.cfg.duration.Seconds())
	first = time.Now().Add(leadTime(k)).Truncate(time.Second)
	step := time.Second / time.Duration(s.cfg.rate)
	due := func(i int) time.Time { return first.Add(time.Duration(i) * step) }
	if s.cfg.due == dueWholeSeconds {
		due = func(i int) time.Time { return first.Add(time.Duration(i/s.cfg.rate) * time.Second) }
	}
	err = s.book(ctx, c, k, due)
	return k, first, err
}

// late is how late each send reached the stand-in after its due time, in
// order, and when the last one arrived.
type late struct {
	sorted []time.Duration
	early  int
	last   time.Time
}

// lateness waits for the k sends of clinic c (arrivals from index start on)
// and measures them.
func (s *stack) lateness(ctx context.Context, c store.Clinic, start, k int, first time.Time) (late, error) {
	var l late
	last, err := s.arrivals.wait(ctx, start+k, first.Add(s.cfg.duration+10*time.Minute))
	if err != nil {
		return l, err
	}
	l.last = last
	times, sends := s.arrivals.since(start)
	for i, at := range times {
		sd, err := s.st.SendGet(ctx, c.ID, sends[i])
		if err != nil {
			return l, err
		}
		d := at.Sub(sd.DueAt)
		if d < 0 {
			l.early++
		}
		l.sorted = append(l.sorted, d)
	}
	slices.Sort(l.sorted)
	return l, nil
}

// results are the figures of a timing phase.
func (l late) results(phase string, rate int) []result {
	pct := func(p float64) float64 { return l.sorted[int(p*float64(len(l.sorted)-1))].Seconds() * 1000 }
	return []result{
		{phase, "sends", float64(len(l.sorted)), "count"},
		{phase, "rate", float64(rate), "1/s"},
		{phase, "lateness p50", pct(0.50), "ms"},
		{phase, "lateness p99", pct(0.99), "ms"},
		{phase, "lateness max", pct(1), "ms"},
		{phase, "sent early", float64(l.early), "count"},
	}
}

// How the timing phases place due times within each second.
const (
	dueSpread       = "spread" // evenly, one every 1/rate seconds
	dueWholeSeconds = "second" // each second's sends at the whole second
)

var dueDescription = map[string]string{
	dueSpread:       "evenly through each second",
	dueWholeSeconds: "at whole seconds (each second's at once)",
}
