package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/outbox"
	"github.com/beckonhealth/beckon/channels/pacing"
	"github.com/beckonhealth/beckon/channels/routing"
	"github.com/beckonhealth/beckon/links"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// startWorker starts the asynq server with every task handler: delivery
// through the per-clinic router, provider statuses, EHR write-back, events
// to the clinics' webhook endpoints.
func (a *App) startWorker() error {
	router, err := a.channelRouter()
	if err != nil {
		return err
	}
	p := a.Config.Providers
	d := worker.NewDeliverer(a.store, router, a.Clock, a.Logger, worker.Config{
		ClaimTimeout: a.Config.ClaimTimeout,
		SendTimeout:  p.HTTPTimeout,
		Limiter:      pacing.New(a.rdb, ""), // pacing shared by every worker through Redis
		MaxPaceWait:  p.MaxPaceWait,
		Links:        &worker.EmailLinks{Keys: &links.Keys{Store: a.store}, Base: a.publicBase},
		Metrics:      a.metrics,
	})
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeDeliver, d)
	mux.Handle(tasks.TypeStatus, worker.NewStatusApplier(a.store, a.Clock, a.Logger))
	interpreter := a.Interpreter
	if interpreter == nil {
		interpreter = a.replies()
	}
	interpret := worker.NewInterpretHandler(a.store, interpreter, a.Clock, a.Logger)
	interpret.Tasks, interpret.Queue, interpret.MaxRetry = a.client, a.Config.Queue, a.Config.MaxRetry
	interpret.Metrics = a.metrics
	mux.Handle(tasks.TypeInterpret, interpret)
	mux.Handle(tasks.TypeWriteback, worker.NewWritebacker(a.store, a.Clock, a.Logger, a.Config.EgressPolicy()))
	events := worker.NewEventDeliverer(a.store, a.Clock, a.Logger, a.Config.EgressPolicy())
	events.Metrics = a.metrics
	mux.Handle(tasks.TypeEventDelivery, events)
	a.worker = asynq.NewServerFromRedisClient(a.rdb, a.AsynqServerConfig())
	if err := a.worker.Start(mux); err != nil {
		a.worker = nil
		return fmt.Errorf("start worker: %w", err)
	}
	return nil
}

// publicBase is Beckon's public base URL, where the links in emails point:
// BECKON_PUBLIC_URL, else the API's own address (this process's listener
// when it serves the API, else BECKON_HTTP_ADDR).
func (a *App) publicBase() string {
	if u := a.Config.Providers.PublicURL; u != "" {
		return u
	}
	if addr := a.Addr(); addr != "" {
		return "http://" + addr
	}
	return "http://" + a.Config.HTTPAddr
}

// SettingsTTL is how long a worker uses a clinic's channel settings before
// reading them again: a change a clinic makes applies to its sends within it.
const SettingsTTL = 2 * time.Second

// channelRouter picks the channels deliveries go through, per clinic; it
// refuses provider settings that are not valid.
func (a *App) channelRouter() (channels.Router, error) {
	p := a.Config.Providers
	if err := a.Config.ProvidersErr(); err != nil {
		return nil, err
	}
	now := func() time.Time { return a.Clock.Now() }
	o := routing.Options{Settings: p, Store: a.store, Outbox: outbox.New(a.store, now), Now: now, SettingsTTL: SettingsTTL}
	if p.PublicURL != "" {
		o.StatusCallback = func(clinicID string) string {
			return p.PublicURL + api.TwilioStatusPath + "?" + api.ClinicParam + "=" + url.QueryEscape(clinicID)
		}
	}
	return routing.New(o), nil
}

// AsynqServerConfig is the worker's asynq server configuration.
func (a *App) AsynqServerConfig() asynq.Config {
	return asynq.Config{
		Concurrency:              a.Config.Concurrency,
		Queues:                   map[string]int{a.Config.Queue: 1},
		TaskCheckInterval:        a.Config.PollInterval,
		DelayedTaskCheckInterval: a.Config.PollInterval,
		RetryDelayFunc: func(n int, err error, t *asynq.Task) time.Duration {
			if errors.Is(err, worker.ErrBusy) {
				return 5 * time.Second
			}
			if t != nil && t.Type() == tasks.TypeEventDelivery {
				return tasks.EventTaskRetryDelay(n, t)
			}
			return worker.RetryDelay(n)
		},
		IsFailure:       func(err error) bool { return !errors.Is(err, worker.ErrBusy) },
		ShutdownTimeout: 30 * time.Second,
		Logger:          asynqLogger{a.Logger.With(slog.String("component", "asynq"))},
		LogLevel:        asynqLevel(a.Config.LogLevel),
		ErrorHandler:    worker.TaskErrorHandler(a.Logger),
	}
}

// StopDelivery stops the pump and the worker, waiting for the tasks in
// hand, so that other processes deliver instead; StartDelivery starts them
// again.
func (a *App) StopDelivery() {
	if a.pump != nil {
		a.pump.Stop()
	}
	if a.worker != nil {
		a.worker.Shutdown()
		a.worker = nil
	}
}

// StartDelivery starts again what StopDelivery stopped.
func (a *App) StartDelivery(ctx context.Context) error {
	if runsWorker(a.Role) && a.worker == nil {
		if err := a.startWorker(); err != nil {
			return err
		}
	}
	if a.pump != nil {
		return a.pump.Start(context.WithoutCancel(ctx))
	}
	return nil
}
