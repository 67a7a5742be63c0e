package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/beckonhealth/beckon"
)

// RetentionConfig configures the retention job. Zero fields take the
// defaults shown.
type RetentionConfig struct {
	// Bodies is how long message bodies, inbound texts and the contents of
	// provider calls and message sends are kept. Default 90 days.
	Bodies time.Duration
	// Archives is how long the raw feed archive (HL7 v2, FHIR) is kept.
	// Default 30 days.
	Archives time.Duration
	// Every is how often the job runs, as a robfig/cron spec. Default
	// "@every 10m".
	Every string
	// BatchSize bounds the rows one statement touches. Default 1000.
	BatchSize int
}

func (c RetentionConfig) withDefaults() RetentionConfig {
	c.Bodies = cmp.Or(c.Bodies, 90*24*time.Hour)
	c.Archives = cmp.Or(c.Archives, 30*24*time.Hour)
	c.Every = cmp.Or(c.Every, "@every 10m")
	c.BatchSize = cmp.Or(c.BatchSize, 1000)
	return c
}

// Retention purges what is kept only for a while: on its schedule, the
// bodies older than Bodies are blanked and the raw archives older than
// Archives deleted, BatchSize rows per statement, until none is left. What
// is "older" is decided on the injected clock. Several schedulers may run
// it at once: a purged row is not touched again.
type Retention struct {
	cfg    RetentionConfig
	store  beckon.RetentionQuerier
	clock  beckon.Clock
	logger *slog.Logger
	job    cronJob
}

// NewRetention returns the job; call Start to run it on its schedule, or
// RunOnce.
func NewRetention(st beckon.RetentionQuerier, clock beckon.Clock, logger *slog.Logger, cfg RetentionConfig) *Retention {
	return &Retention{
		cfg:    cfg.withDefaults(),
		store:  st,
		clock:  clock,
		logger: cmp.Or(logger, slog.Default()).With(slog.String("component", "retention")),
	}
}

// Start runs the job on its cron schedule until Stop.
func (r *Retention) Start(ctx context.Context) error {
	return r.job.start(ctx, r.logger, "retention", r.cfg.Every, func(ctx context.Context) error {
		_, err := r.RunOnce(ctx)
		return err
	})
}

// Stop stops the schedule and waits for a running pass to end.
func (r *Retention) Stop() { r.job.stop() }

// RunOnce purges in batches until a batch finds less than BatchSize rows in
// every table, and returns what it purged in all.
func (r *Retention) RunOnce(ctx context.Context) (beckon.RetentionPurged, error) {
	now := r.clock.Now()
	p := beckon.RetentionPurgeParams{
		BodiesBefore:   now.Add(-r.cfg.Bodies),
		ArchivesBefore: now.Add(-r.cfg.Archives),
		Limit:          r.cfg.BatchSize,
	}
	var total beckon.RetentionPurged
	batches := 0
	for {
		n, err := r.store.RetentionPurge(ctx, p)
		total = addPurged(total, n)
		batches++
		if err != nil {
			return total, fmt.Errorf("retention purge: %w", err)
		}
		if n.Max() < p.Limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
	if total.Total() > 0 {
		r.logger.Info("retention purge",
			slog.Int("batches", batches),
			slog.Int("messages", total.Messages),
			slog.Int("outbox", total.Outbox),
			slog.Int("send_calls", total.SendCalls),
			slog.Int("send_messages", total.SendMessages),
			slog.Int("inbound_sms", total.InboundSMS),
			slog.Int("archives_deleted", total.Archives))
	}
	return total, nil
}

func addPurged(a, b beckon.RetentionPurged) beckon.RetentionPurged {
	return beckon.RetentionPurged{
		Messages:     a.Messages + b.Messages,
		Outbox:       a.Outbox + b.Outbox,
		SendCalls:    a.SendCalls + b.SendCalls,
		SendMessages: a.SendMessages + b.SendMessages,
		InboundSMS:   a.InboundSMS + b.InboundSMS,
		Archives:     a.Archives + b.Archives,
	}
}
