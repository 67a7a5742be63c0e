// Package app builds and runs Beckon's roles from one Config: the HTTP API,
// the delivery worker (asynq, with per-clinic channel routing and pacing),
// the pump that hands due sends to Redis, and the HL7 v2 MLLP listener, plus
// the one-shot commands (clinic and key creation, feed replay). `beckon`
// (cmd/beckon) parses flags into a Config and runs an App; `beckon-bench`
// runs the same App in its process, so the benchmark measures what `serve`
// runs.
//
// A process runs one role: serve (everything, on the embedded defaults when
// no database or Redis is named), api, worker or scheduler. Open opens the
// store; Start opens Redis and starts the role's parts; Close stops them in
// reverse order.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/metrics"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/worker"
)

// App is one process's roles, built from Config.
type App struct {
	Config Config
	Role   string
	Clock  beckon.Clock
	// Logger is where every role logs; nil: Config's level and format onto
	// Stderr.
	Logger *slog.Logger
	// Stdout takes what an operator reads (listening addresses, the demo
	// key, the commands' output); Stderr the logs.
	Stdout io.Writer
	Stderr io.Writer

	// DemoKey is the admin key printed for a new demo clinic (empty otherwise).
	DemoKey string
	// DemoClinicID is the demo clinic's id, when one was created.
	DemoClinicID string
	// Interpreter reads inbound messages in the worker; nil: the
	// conversation's rules (package conversation).
	Interpreter worker.Interpreter

	store  beckon.Store
	mini   *miniredis.Miniredis
	rdb    redis.UniversalClient
	client *asynq.Client
	worker *asynq.Server // nil while stopped
	pump   *scheduler.Pump
	http   *http.Server
	ln     net.Listener
	serveW sync.WaitGroup
	mllp   mllpListener
	// metrics is the registry every role counts into; metricsHTTP serves it
	// on BECKON_METRICS_ADDR (metrics.go).
	metrics     *metrics.Metrics
	metricsHTTP *http.Server
	metricsLn   net.Listener
	// retention purges old bodies and archives (roles that run the pump).
	retention *scheduler.Retention
}

// New returns an App for the role, writing to the process's streams, on
// the system clock. cfg must have passed WithDefaults and Validate.
func New(cfg Config, role string) *App {
	return &App{Config: cfg, Role: role, Clock: beckon.SystemClock{}, Stdout: os.Stdout, Stderr: os.Stderr}
}

// Open builds the logger and opens (and migrates) the store; the one-shot
// commands need nothing more.
func (a *App) Open(ctx context.Context) error {
	if a.Logger == nil {
		a.Logger = NewLogger(a.Stderr, a.Config)
	}
	keys, err := a.secretKeyring(ctx)
	if err != nil {
		return err
	}
	st, err := store.OpenWith(ctx, a.Config.DatabaseURL, store.Options{MaxConns: a.Config.PoolSize(a.Role), Clock: a.Clock, Secrets: keys})
	if err != nil {
		return err
	}
	a.store = st
	return nil
}

// Start opens Redis and starts the role's parts: the API (and the MLLP
// listener, when set) for serve and api, the worker for serve and worker,
// the pump for serve and scheduler. It returns once they run.
func (a *App) Start(ctx context.Context) error {
	if a.store == nil {
		if err := a.Open(ctx); err != nil {
			return err
		}
	}
	if err := a.openRedis(ctx); err != nil {
		return err
	}
	if err := a.startMetrics(); err != nil {
		return err
	}
	if runsAPI(a.Role) {
		if a.Config.Demo {
			if err := a.bootstrapDemo(ctx); err != nil {
				return err
			}
		}
		if err := a.startAPI(); err != nil {
			return err
		}
	}
	if runsWorker(a.Role) {
		if err := a.startWorker(); err != nil {
			return err
		}
	}
	if runsPump(a.Role) {
		a.pump = scheduler.NewPump(a.store, a.client, a.Clock, a.Logger, scheduler.PumpConfig{
			Every:        a.Config.PumpEvery,
			Horizon:      a.Config.Horizon,
			Recheck:      a.Config.Recheck,
			ClaimTimeout: a.Config.ClaimTimeout,
			Queue:        a.Config.Queue,
			MaxRetry:     a.Config.MaxRetry,
			Inspector:    asynq.NewInspectorFromRedisClient(a.rdb),
		})
		if err := a.pump.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		a.retention = scheduler.NewRetention(a.store, a.Clock, a.Logger, scheduler.RetentionConfig{
			Bodies:   a.Config.RetentionBodies,
			Archives: a.Config.RetentionArchives,
			Every:    a.Config.RetentionEvery,
		})
		if err := a.retention.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	if runsAPI(a.Role) {
		if err := a.startMLLP(); err != nil {
			return err
		}
	}
	a.Logger.Info("beckon started", slog.String("role", a.Role), slog.String("store", a.store.Dialect()), slog.Bool("embedded_redis", a.mini != nil))
	return nil
}

func (a *App) openRedis(ctx context.Context) error {
	if a.Config.RedisURL == "" {
		a.mini = miniredis.NewMiniRedis()
		if err := a.mini.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("start in-process redis: %w", err)
		}
		a.rdb = redis.NewClient(&redis.Options{Addr: a.mini.Addr()})
	} else {
		t, err := parseRedisURL(a.Config.RedisURL)
		if err != nil {
			return err
		}
		a.rdb = t.client()
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.rdb.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("redis not reachable: %w", err)
	}
	a.client = asynq.NewClientFromRedisClient(a.rdb)
	return nil
}

// Store is the opened store.
func (a *App) Store() beckon.Store { return a.store }

// Redis is the Redis client every role shares, once Start has run.
func (a *App) Redis() redis.UniversalClient { return a.rdb }

// RedisURL is the Redis the process uses, as another process reaches it
// (the in-process Redis of serve listens on loopback).
func (a *App) RedisURL() string {
	if a.mini != nil {
		return "redis://" + a.mini.Addr()
	}
	return a.Config.RedisURL
}

// EmbeddedRedis is serve's in-process Redis, or nil.
func (a *App) EmbeddedRedis() *miniredis.Miniredis { return a.mini }

// Retention is the running retention job, or nil in a role without one.
func (a *App) Retention() *scheduler.Retention { return a.retention }

// Pump is the running pump, or nil in a role without one.
func (a *App) Pump() *scheduler.Pump { return a.pump }

// Addr is where the API listens, once Start has started it.
func (a *App) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Close stops every role and releases resources, in reverse order of start.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	errs = append(errs, a.closeMLLP())
	if a.http != nil {
		errs = append(errs, a.http.Shutdown(ctx))
	}
	if a.metricsHTTP != nil {
		errs = append(errs, a.metricsHTTP.Shutdown(ctx))
	}
	a.serveW.Wait()
	a.StopDelivery()
	if a.retention != nil {
		a.retention.Stop()
	}
	// The asynq client shares a.rdb, which is closed below.
	if a.rdb != nil {
		errs = append(errs, a.rdb.Close())
	}
	if a.mini != nil {
		a.mini.Close()
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	return errors.Join(errs...)
}
