package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// cronJob runs a pass on a robfig/cron schedule, in UTC: a panic is
// recovered and logged, and a run due while the previous one still runs is
// skipped.
type cronJob struct {
	mu sync.Mutex
	c  *cron.Cron
}

// start runs pass on spec until stop; what names the job in errors and logs
// (a failed pass is logged unless ctx ended).
func (j *cronJob) start(ctx context.Context, logger *slog.Logger, what, spec string, pass func(context.Context) error) error {
	c := cron.New(
		cron.WithLocation(time.UTC),
		cron.WithChain(cron.Recover(cronLogger{logger}), cron.SkipIfStillRunning(cronLogger{logger})),
	)
	if _, err := c.AddFunc(spec, func() {
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			logger.Error(what+" pass failed", slog.String("error", err.Error()))
		}
	}); err != nil {
		return fmt.Errorf("%s schedule %q: %w", what, spec, err)
	}
	j.mu.Lock()
	j.c = c
	j.mu.Unlock()
	c.Start()
	return nil
}

// stop stops the schedule and waits for a running pass to end.
func (j *cronJob) stop() {
	j.mu.Lock()
	c := j.c
	j.c = nil
	j.mu.Unlock()
	if c != nil {
		<-c.Stop().Done()
	}
}
