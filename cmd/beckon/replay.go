package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/beckonhealth/beckon/api"
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

// replay re-applies archived HL7 v2 messages through the same processing as
// MLLP and POST /hl7/v2. Messages already applied are recognised (same
// digest, or older than what was applied) and change nothing.
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
	proc := &api.HL7Processor{
		Store:   m.store,
		Service: &scheduler.Service{Store: m.store, Clock: m.Clock, Logger: m.logger},
		Clock:   m.Clock,
		Logger:  m.logger.With(slog.String("component", "replay")),
	}
	var msgs []store.InboundMessage
	if a.id != "" {
		msg, err := src.InboundGet(ctx, a.clinic, a.id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("ehr replay: no archived message %s", a.id)
		}
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	counts := map[string]int{}
	after := ""
	for {
		if a.id == "" {
			page, err := src.InboundList(ctx, store.InboundFilter{ClinicID: a.clinic, Since: since, AfterID: after, Limit: 500})
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			msgs, after = page, page[len(page)-1].ID
		}
		for _, msg := range msgs {
			if a.failed && msg.Result != store.FeedRejected && msg.Result != store.FeedError {
				continue
			}
			if msg.Format != store.FormatHL7v2 {
				counts["skipped (FHIR: ask the EHR to resend)"]++
				fmt.Fprintf(m.Stdout, "%s\t%s\t%s\tskipped: FHIR messages are not replayed\n", msg.ID, msg.Format, msg.ClinicID)
				continue
			}
			if msg.Outcome == "" {
				// A frame cut short on MLLP, kept for inspection: never a
				// message to apply (its end is missing).
				counts["skipped (broken MLLP frame)"]++
				fmt.Fprintf(m.Stdout, "%s\t%s\t%s\tskipped: a broken MLLP frame, never acknowledged\n", msg.ID, msg.Format, msg.ClinicID)
				continue
			}
			if a.dryRun {
				counts["would replay"]++
				fmt.Fprintf(m.Stdout, "%s\t%s\t%s\twas %s/%s\n", msg.ID, msg.Format, msg.ClinicID, msg.Outcome, msg.Result)
				continue
			}
			res := proc.Process(ctx, api.HL7Input{
				ClinicID:  msg.ClinicID,
				Transport: store.TransportReplay,
				Raw:       msg.Raw,
				Actor:     "replay:" + msg.ID,
				Archive:   a.from != "",
			})
			counts[string(res.Code)+" "+res.Result]++
			fmt.Fprintf(m.Stdout, "%s\t%s\t%s\twas %s/%s\tnow %s/%s\n", msg.ID, msg.Format, res.ClinicID, msg.Outcome, msg.Result, res.Code, res.Result)
		}
		if a.id != "" {
			break
		}
	}
	fmt.Fprintf(m.Stdout, "replayed: %v\n", counts)
	return nil
}
