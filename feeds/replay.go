package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/beckonhealth/beckon"
)

// Replay re-applies archived HL7 v2 messages through the same processing as
// MLLP and POST /hl7/v2. Messages already applied are recognised (same
// digest, or older than what was applied) and change nothing.
type Replay struct {
	// Source is the store the archive is read from: this installation's, or
	// another one's when moving into a new installation.
	Source beckon.Store
	// Processor applies the messages (to its own store).
	Processor *HL7Processor
	// Archive keeps each replayed message in Processor's archive (when Source
	// is another installation's; a message replayed from this archive is
	// there already).
	Archive bool

	ClinicID string    // only this clinic's messages; empty: all
	Since    time.Time // only messages received at or after it
	ID       string    // only this archived message (inb_…)
	Failed   bool      // only messages that were rejected or failed
	DryRun   bool      // list what would be replayed, change nothing

	// Out receives a line per message and a closing count (ids, formats
	// and outcomes only).
	Out io.Writer
}

// Run replays the messages the filter selects.
func (r *Replay) Run(ctx context.Context) error {
	var msgs []beckon.InboundMessage
	if r.ID != "" {
		msg, err := r.Source.InboundGet(ctx, r.ClinicID, r.ID)
		if errors.Is(err, beckon.ErrNotFound) {
			return fmt.Errorf("no archived message %s", r.ID)
		}
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	counts := map[string]int{}
	after := ""
	for {
		if r.ID == "" {
			page, err := r.Source.InboundList(ctx, beckon.InboundFilter{ClinicID: r.ClinicID, Since: r.Since, AfterID: after, Limit: 500})
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			msgs, after = page, page[len(page)-1].ID
		}
		for _, msg := range msgs {
			if r.Failed && msg.Result != beckon.FeedRejected && msg.Result != beckon.FeedError {
				continue
			}
			if msg.Format != beckon.FormatHL7v2 {
				counts["skipped (FHIR: ask the EHR to resend)"]++
				fmt.Fprintf(r.Out, "%s\t%s\t%s\tskipped: FHIR messages are not replayed\n", msg.ID, msg.Format, msg.ClinicID)
				continue
			}
			if msg.Outcome == "" {
				// A frame cut short on MLLP, kept for inspection: never a
				// message to apply (its end is missing).
				counts["skipped (broken MLLP frame)"]++
				fmt.Fprintf(r.Out, "%s\t%s\t%s\tskipped: a broken MLLP frame, never acknowledged\n", msg.ID, msg.Format, msg.ClinicID)
				continue
			}
			if r.DryRun {
				counts["would replay"]++
				fmt.Fprintf(r.Out, "%s\t%s\t%s\twas %s/%s\n", msg.ID, msg.Format, msg.ClinicID, msg.Outcome, msg.Result)
				continue
			}
			res := r.Processor.Process(ctx, HL7Input{
				ClinicID:  msg.ClinicID,
				Transport: beckon.TransportReplay,
				Raw:       msg.Raw,
				Actor:     "replay:" + msg.ID,
				Archive:   r.Archive,
			})
			counts[string(res.Code)+" "+res.Result]++
			fmt.Fprintf(r.Out, "%s\t%s\t%s\twas %s/%s\tnow %s/%s\n", msg.ID, msg.Format, res.ClinicID, msg.Outcome, msg.Result, res.Code, res.Result)
		}
		if r.ID != "" {
			break
		}
	}
	fmt.Fprintf(r.Out, "replayed: %v\n", counts)
	return nil
}
