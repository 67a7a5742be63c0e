package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/store"
)

// ReplayArgs are what `beckon ehr replay` is given.
type ReplayArgs struct {
	Clinic string // only this clinic's messages (empty: all)
	Since  string // only messages received at or after this RFC 3339 time
	ID     string // only this archived message (inb_…)
	From   string // read the archive from this database and apply here
	Failed bool   // only messages that were rejected or failed
	DryRun bool   // list what would be replayed, change nothing
}

// Replay re-applies archived HL7 v2 messages through the same processing as
// MLLP and POST /hl7/v2, and prints what each did. Messages already applied
// are recognised (same digest, or older than what was applied) and change
// nothing.
func (a *App) Replay(ctx context.Context, args ReplayArgs) error {
	var since time.Time
	if args.Since != "" {
		t, err := time.Parse(time.RFC3339, args.Since)
		if err != nil {
			return fmt.Errorf("ehr replay: -since %q is not RFC 3339", args.Since)
		}
		since = t
	}
	src := store.Store(a.store)
	if args.From != "" {
		s, err := store.Open(ctx, args.From)
		if err != nil {
			return fmt.Errorf("ehr replay: -from: %w", err)
		}
		defer s.Close()
		src = s
	}
	proc := a.hl7Processor("replay")
	var msgs []store.InboundMessage
	if args.ID != "" {
		msg, err := src.InboundGet(ctx, args.Clinic, args.ID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("ehr replay: no archived message %s", args.ID)
		}
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	counts := map[string]int{}
	after := ""
	for {
		if args.ID == "" {
			page, err := src.InboundList(ctx, store.InboundFilter{ClinicID: args.Clinic, Since: since, AfterID: after, Limit: 500})
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			msgs, after = page, page[len(page)-1].ID
		}
		for _, msg := range msgs {
			if args.Failed && msg.Result != store.FeedRejected && msg.Result != store.FeedError {
				continue
			}
			if msg.Format != store.FormatHL7v2 {
				counts["skipped (FHIR: ask the EHR to resend)"]++
				fmt.Fprintf(a.Stdout, "%s\t%s\t%s\tskipped: FHIR messages are not replayed\n", msg.ID, msg.Format, msg.ClinicID)
				continue
			}
			if msg.Outcome == "" {
				// A frame cut short on MLLP, kept for inspection: never a
				// message to apply (its end is missing).
				counts["skipped (broken MLLP frame)"]++
				fmt.Fprintf(a.Stdout, "%s\t%s\t%s\tskipped: a broken MLLP frame, never acknowledged\n", msg.ID, msg.Format, msg.ClinicID)
				continue
			}
			if args.DryRun {
				counts["would replay"]++
				fmt.Fprintf(a.Stdout, "%s\t%s\t%s\twas %s/%s\n", msg.ID, msg.Format, msg.ClinicID, msg.Outcome, msg.Result)
				continue
			}
			res := proc.Process(ctx, api.HL7Input{
				ClinicID:  msg.ClinicID,
				Transport: store.TransportReplay,
				Raw:       msg.Raw,
				Actor:     "replay:" + msg.ID,
				Archive:   args.From != "",
			})
			counts[string(res.Code)+" "+res.Result]++
			fmt.Fprintf(a.Stdout, "%s\t%s\t%s\twas %s/%s\tnow %s/%s\n", msg.ID, msg.Format, res.ClinicID, msg.Outcome, msg.Result, res.Code, res.Result)
		}
		if args.ID != "" {
			break
		}
	}
	fmt.Fprintf(a.Stdout, "replayed: %v\n", counts)
	return nil
}
