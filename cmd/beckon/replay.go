package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	ehrfeeds "github.com/beckonhealth/beckon/feeds"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store"
)

// replayArgs are the flags of `beckon ehr replay`.
type replayArgs struct {
	clinic string
	since  string
	id     string
	from   string
	failed bool
	dryRun bool
}

func (a *replayArgs) bindFlags(fs *flag.FlagSet, role string) {
	if role != "ehr-replay" {
		return
	}
	fs.StringVar(&a.clinic, "clinic", "", "only this clinic's messages (default: all)")
	fs.StringVar(&a.since, "since", "", "only messages received at or after this RFC 3339 time")
	fs.StringVar(&a.id, "id", "", "only this archived message (inb_…)")
	fs.StringVar(&a.from, "from", "", "read the archive from this database (postgres:// URL or SQLite path) and apply here: moving into a new installation")
	fs.BoolVar(&a.failed, "failed", false, "only messages that were rejected or failed")
	fs.BoolVar(&a.dryRun, "dry-run", false, "list what would be replayed, change nothing")
}

// replay is `beckon ehr replay`: it reads the flags and hands the archive to
// feeds.Replay. (The package is imported as ehrfeeds: this package has a type
// named feeds.)
func (m *Main) replay(ctx context.Context) error {
	a := m.feedReplay
	var since time.Time
	if a.since != "" {
		t, err := time.Parse(time.RFC3339, a.since)
		if err != nil {
			return fmt.Errorf("ehr replay: -since %q is not RFC 3339", a.since)
		}
		since = t
	}
	src := store.Store(m.store)
	if a.from != "" {
		s, err := store.Open(ctx, a.from)
		if err != nil {
			return fmt.Errorf("ehr replay: -from: %w", err)
		}
		defer s.Close()
		src = s
	}
	r := &ehrfeeds.Replay{
		Source: src,
		Processor: &ehrfeeds.HL7Processor{
			Store:   m.store,
			Service: &scheduler.Service{Store: m.store, Clock: m.Clock, Logger: m.logger},
			Clock:   m.Clock,
			Logger:  m.logger.With(slog.String("component", "replay")),
		},
		Archive:  a.from != "",
		ClinicID: a.clinic,
		Since:    since,
		ID:       a.id,
		Failed:   a.failed,
		DryRun:   a.dryRun,
		Out:      m.Stdout,
	}
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("ehr replay: %w", err)
	}
	return nil
}
