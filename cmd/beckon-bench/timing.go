package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/beckonhealth/beckon"
)

// benchTiming books sends at the configured rate and measures how late each
// reached the stand-in, delivered by this process.
func (s *stack) benchTiming(ctx context.Context) ([]result, error) {
	r, err := s.bookSteady(ctx, "timing")
	if err != nil {
		return nil, err
	}
	l, err := s.lateness(ctx, r)
	if err != nil {
		return nil, err
	}
	return l.results("timing", s.cfg.rate), nil
}

// steady is sends booked at a steady rate for one clinic.
type steady struct {
	clinic beckon.Clinic
	start  int       // arrivals at the stand-in before these sends
	k      int       // how many
	first  time.Time // the first due time
}

// bookSteady makes a clinic and books its sends due at the configured rate
// for the configured duration (placed within each second as -due says), the
// first a little after booking ends.
func (s *stack) bookSteady(ctx context.Context, name string) (steady, error) {
	c, err := s.plannedClinic(ctx, name)
	if err != nil {
		return steady{}, err
	}
	r := steady{clinic: c, start: s.arrivals.count(), k: int(float64(s.cfg.rate) * s.cfg.duration.Seconds())}
	r.first = time.Now().Add(leadTime(r.k)).Truncate(time.Second)
	step := time.Second / time.Duration(s.cfg.rate)
	due := func(i int) time.Time { return r.first.Add(time.Duration(i) * step) }
	if s.cfg.due == dueWholeSeconds {
		due = func(i int) time.Time { return r.first.Add(time.Duration(i/s.cfg.rate) * time.Second) }
	}
	if err := s.book(ctx, c, r.k, due); err != nil {
		return r, err
	}
	if time.Now().After(r.first) {
		return r, fmt.Errorf("booking took longer than the lead time; sends were due before it ended")
	}
	return r, nil
}

// late is how late each send reached the stand-in after its due time, in
// order, and how many arrived before it.
type late struct {
	sorted []time.Duration
	early  int
}

// lateness waits for the sends of r and measures them.
func (s *stack) lateness(ctx context.Context, r steady) (late, error) {
	var l late
	if _, err := s.arrivals.wait(ctx, r.start+r.k, r.first.Add(s.cfg.duration+10*time.Minute)); err != nil {
		return l, err
	}
	times, sends := s.arrivals.since(r.start)
	for i, at := range times {
		sd, err := s.st.SendGet(ctx, r.clinic.ID, sends[i])
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
