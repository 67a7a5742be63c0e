package app

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// asynq schedules an event delivery's retries as the worker records them
// (tasks.EventRetryDelay), and other tasks as before.
func TestAsynqRetryDelayOfEventDeliveries(t *testing.T) {
	a := &App{Config: Config{Queue: "q", Concurrency: 1}, Logger: slog.New(slog.DiscardHandler)}
	delay := a.AsynqServerConfig().RetryDelayFunc
	task, _ := tasks.NewEventDeliveryTask("cln_1", "whd_1")
	deliver, _ := tasks.NewDeliverTask("cln_1", "snd_1")
	for n := range 12 {
		if got, want := delay(n, errors.New("the endpoint answered 503"), task), tasks.EventRetryDelay(n, "whd_1"); got != want {
			t.Fatalf("event delivery retry %d: %v, want %v", n, got, want)
		}
		if got, want := delay(n, errors.New("x"), deliver), worker.RetryDelay(n); got != want {
			t.Fatalf("send retry %d: %v, want %v", n, got, want)
		}
	}
}
