package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/tasks"
)

// The worker's asynq server has an error handler, and it logs through the
// process logger with the task type and the error.
func TestAsynqConfigLogsTaskErrors(t *testing.T) {
	var buf bytes.Buffer
	a := &App{Config: Config{Queue: "q", Concurrency: 1}, Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	cfg := a.AsynqServerConfig()
	if cfg.ErrorHandler == nil {
		t.Fatal("the asynq server has no error handler: task failures are silent")
	}
	cfg.ErrorHandler.HandleError(context.Background(), asynq.NewTask(tasks.TypeDeliver, []byte(`{"send_id":"snd_1"}`)), errors.New("claim send: connection refused"))
	out := buf.String()
	for _, want := range []string{"level=WARN", "task_type=" + tasks.TypeDeliver, "connection refused"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log %q lacks %q", out, want)
		}
	}
}
