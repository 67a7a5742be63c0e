package app

import (
	"context"
	"fmt"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/feeds"
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

// Replay is `beckon ehr replay`: it reads the arguments, opens the source
// archive and hands it to feeds.Replay, which re-applies the messages
// through the same processing as MLLP and POST /hl7/v2 and prints what each
// did.
func (a *App) Replay(ctx context.Context, args ReplayArgs) error {
	var since time.Time
	if args.Since != "" {
		t, err := time.Parse(time.RFC3339, args.Since)
		if err != nil {
			return fmt.Errorf("ehr replay: -since %q is not RFC 3339", args.Since)
		}
		since = t
	}
	src := beckon.Store(a.store)
	if args.From != "" {
		s, err := store.Open(ctx, args.From)
		if err != nil {
			return fmt.Errorf("ehr replay: -from: %w", err)
		}
		defer s.Close()
		src = s
	}
	r := &feeds.Replay{
		Source:    src,
		Processor: a.hl7Processor("replay"),
		Archive:   args.From != "",
		ClinicID:  args.Clinic,
		Since:     since,
		ID:        args.ID,
		Failed:    args.Failed,
		DryRun:    args.DryRun,
		Out:       a.Stdout,
	}
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("ehr replay: %w", err)
	}
	return nil
}
