package worker

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hibiken/asynq"
)

// TaskErrorHandler is the asynq server's Config.ErrorHandler: it logs every
// error a task handler returns, with the task's type and id (a send id or a
// status key) and its retry count, never its payload. A retry is a warning;
// retries exhausted (or asynq.SkipRetry) is an error, since the task is then
// archived and nothing will run it again. ErrBusy, a send another worker
// holds, is routine and logged at debug level until it exhausts the retries.
func TaskErrorHandler(logger *slog.Logger) asynq.ErrorHandler {
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With(slog.String("component", "tasks"))
	return asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
		id, _ := asynq.GetTaskID(ctx)
		attrs := []slog.Attr{slog.String("task_type", t.Type()), slog.String("task_id", id)}
		retried, ok1 := asynq.GetRetryCount(ctx)
		maxRetry, ok2 := asynq.GetMaxRetry(ctx)
		if ok1 && ok2 {
			attrs = append(attrs, slog.Int("retried", retried), slog.Int("max_retry", maxRetry))
		}
		attrs = append(attrs, slog.String("error", err.Error()))
		switch {
		case errors.Is(err, asynq.RevokeTask):
			logger.LogAttrs(ctx, slog.LevelInfo, "task revoked", attrs...)
		case errors.Is(err, asynq.SkipRetry), ok1 && ok2 && retried >= maxRetry:
			logger.LogAttrs(ctx, slog.LevelError, "task failed and will not be retried", attrs...)
		case errors.Is(err, ErrBusy):
			logger.LogAttrs(ctx, slog.LevelDebug, "task busy, retrying", attrs...)
		default:
			logger.LogAttrs(ctx, slog.LevelWarn, "task failed, retrying", attrs...)
		}
	})
}
