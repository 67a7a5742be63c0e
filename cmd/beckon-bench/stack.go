package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// stack is Beckon's real code paths wired as `beckon serve` wires them, with
// the Twilio stand-in as the SMS provider.
type stack struct {
	cfg    config
	logger *slog.Logger
	st     store.Store
	dbPath string // SQLite file, for its size
	dsn    string // the database, as the beckon processes open it
	// redisURL is the Redis, as the beckon processes reach it (the
	// in-process one listens on loopback).
	redisURL string
	schema   string // PostgreSQL schema, dropped at the end
	rdb      *redis.Client
	mini     *miniredis.Miniredis
	client   *asynq.Client
	svc      *scheduler.Service
	httpSrv  *httptest.Server
	pump     *scheduler.Pump
	server   *asynq.Server // nil while stopped
	// deliverer is the in-process delivery handler.
	deliverer *worker.Deliverer
	// standIn is the Twilio stand-in, a child process; arrivals is what it
	// reported receiving.
	standIn  *standIn
	arrivals *arrivals
	queue    string
	// ingested is what the ingest phase sent (nil before it runs).
	ingested *ingested
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newStack(ctx context.Context, cfg config) (*stack, error) {
	s := &stack{cfg: cfg, logger: slog.New(slog.DiscardHandler), queue: "bench-" + randomSuffix()}
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		dir, err := os.MkdirTemp("", "beckon-bench-")
		if err != nil {
			return nil, err
		}
		s.dbPath = filepath.Join(dir, "beckon.db")
		dsn = s.dbPath
	} else {
		s.schema = "beckon_bench_" + randomSuffix()
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		_, err = db.ExecContext(ctx, "CREATE SCHEMA "+s.schema)
		db.Close()
		if err != nil {
			return nil, fmt.Errorf("create schema: %w", err)
		}
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		q.Set("search_path", s.schema)
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s.st, s.dsn = st, dsn
	if u := os.Getenv("REDIS_URL"); u != "" {
		s.redisURL = u
		opt, err := redis.ParseURL(u)
		if err != nil {
			return nil, err
		}
		s.rdb = redis.NewClient(opt)
	} else {
		s.mini = miniredis.NewMiniRedis()
		if err := s.mini.StartAddr("127.0.0.1:0"); err != nil {
			return nil, err
		}
		s.rdb = redis.NewClient(&redis.Options{Addr: s.mini.Addr()})
		s.redisURL = "redis://" + s.mini.Addr()
	}
	s.client = asynq.NewClientFromRedisClient(s.rdb)
	clock := scheduler.SystemClock{}
	s.svc = &scheduler.Service{Store: st, Clock: clock, Logger: s.logger}
	s.httpSrv = httptest.NewServer(api.New(api.Config{Store: st, Service: s.svc, Clock: clock, Logger: s.logger, Tasks: s.client}))
	s.arrivals = newArrivals()
	if s.standIn, err = startStandIn(ctx, s.arrivals); err != nil {
		return nil, err
	}
	sms, err := twilio.New(twilio.Options{
		AccountSID:        twiliotest.AccountSID,
		AuthToken:         twiliotest.AuthToken,
		From:              "+14155550100",
		StatusCallbackURL: "http://127.0.0.1:9/webhooks/twilio/status",
		BaseURL:           s.standIn.URL,
		Transport:         &http.Transport{MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute},
	})
	if err != nil {
		return nil, err
	}
	s.deliverer = worker.NewDeliverer(st, channels.Static{store.ChannelSMS: sms}, clock, s.logger, worker.Config{})
	s.pump = scheduler.NewPump(st, s.client, clock, s.logger, scheduler.PumpConfig{Queue: s.queue})
	if err := s.startServing(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// startServing starts the in-process asynq server and pump.
func (s *stack) startServing(ctx context.Context) error {
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeDeliver, s.deliverer)
	s.server = asynq.NewServerFromRedisClient(s.rdb, serverConfig(s.cfg, s.queue, s.logger))
	if err := s.server.Start(mux); err != nil {
		s.server = nil
		return err
	}
	return s.pump.Start(ctx)
}

// stopServing stops the in-process pump and asynq server (while Beckon
// processes of their own deliver instead).
func (s *stack) stopServing() {
	s.pump.Stop()
	if s.server != nil {
		s.server.Shutdown()
		s.server = nil
	}
}

// serverConfig is the asynq configuration `beckon serve` uses, for a queue.
func serverConfig(cfg config, queue string, logger *slog.Logger) asynq.Config {
	return asynq.Config{
		Concurrency:              cfg.concurrency,
		Queues:                   map[string]int{queue: 1},
		TaskCheckInterval:        cfg.pollInterval,
		DelayedTaskCheckInterval: cfg.pollInterval,
		IsFailure:                func(err error) bool { return !errors.Is(err, worker.ErrBusy) },
		LogLevel:                 asynq.FatalLevel,
		ErrorHandler:             worker.TaskErrorHandler(logger),
	}
}

// clinic creates a clinic without quiet hours and an admin key for it.
func (s *stack) clinic(ctx context.Context, name string) (store.Clinic, string, error) {
	now := time.Now().UTC()
	c := store.Clinic{ID: store.NewID("cln_"), Name: name, TimeZone: "UTC", CreatedAt: now, UpdatedAt: now}
	if err := s.st.ClinicCreate(ctx, c); err != nil {
		return c, "", err
	}
	secret := "bk_bench_" + randomSuffix() + randomSuffix()
	err := s.st.APIKeyCreate(ctx, store.APIKey{ID: store.NewID("key_"), ClinicID: c.ID, Role: store.RoleAdmin, Hash: api.HashKey(secret), CreatedAt: now})
	return c, secret, err
}

// redisMemory is Redis's used_memory in bytes, or -1 for the in-process Redis.
func (s *stack) redisMemory(ctx context.Context) int64 {
	if s.mini != nil {
		return -1
	}
	info, err := s.rdb.InfoMap(ctx, "memory").Result()
	if err != nil {
		return -1
	}
	var n int64
	fmt.Sscan(info["Memory"]["used_memory"], &n)
	return n
}

// dbSize is the database's size in bytes.
func (s *stack) dbSize(ctx context.Context) int64 {
	if s.dbPath != "" {
		var n int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(s.dbPath + suffix); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		return -1
	}
	defer db.Close()
	var n int64
	err = db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)),0) FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = $1 AND c.relkind = 'r'`, s.schema).Scan(&n)
	if err != nil {
		return -1
	}
	return n
}

func (s *stack) close() {
	s.stopServing()
	s.httpSrv.Close()
	_ = s.standIn.close()
	_ = s.rdb.Close()
	if s.mini != nil {
		s.mini.Close()
	}
	_ = s.st.Close()
	if s.dbPath != "" {
		_ = os.RemoveAll(filepath.Dir(s.dbPath))
	}
	if s.schema != "" {
		if db, err := sql.Open("pgx", os.Getenv("DATABASE_URL")); err == nil {
			_, _ = db.Exec("DROP SCHEMA " + s.schema + " CASCADE")
			db.Close()
		}
	}
}
