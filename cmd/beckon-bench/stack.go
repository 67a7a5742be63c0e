package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/app"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/sealed"
)

// stack is Beckon as `beckon serve` runs it (package app, the same
// Config read from the same variables), with the Twilio stand-in as every
// clinic's SMS provider, and what the phases need to set up their data and
// measure it.
type stack struct {
	cfg    config
	app    *app.App
	logger *slog.Logger
	st     beckon.Store
	dbPath string // SQLite file, for its size
	dsn    string // the database, as the beckon processes open it
	// secretKey seals the run's stored secrets (BECKON_SECRET_KEY of
	// every process of the run).
	secretKey string
	// redisURL is the Redis, as the beckon processes reach it (the
	// in-process one listens on loopback).
	redisURL string
	schema   string // PostgreSQL schema, dropped at the end
	rdb      redis.UniversalClient
	client   *asynq.Client
	// svc sets up the phases' clinics, campaigns and patients.
	svc *scheduler.Service
	// base is the API's URL.
	base string
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

func newStack(ctx context.Context, cfg config) (_ *stack, err error) {
	s := &stack{cfg: cfg, logger: slog.New(slog.DiscardHandler), queue: "bench-" + randomSuffix(), secretKey: sealed.NewKey()}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.dsn, err = s.database(ctx); err != nil {
		return nil, err
	}
	s.arrivals = newArrivals()
	if s.standIn, err = startStandIn(ctx, s.arrivals); err != nil {
		return nil, err
	}
	// `beckon serve`'s settings, as the procs phase's processes get them,
	// over this process's environment; the API and MLLP on free ports.
	env := s.settings(s.queue)
	env["BECKON_HTTP_ADDR"] = "127.0.0.1:0"
	env["BECKON_MLLP_ADDR"] = "127.0.0.1:0"
	env["BECKON_DEMO"] = "false"
	acfg, err := app.ConfigFromEnv(func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	})
	if err != nil {
		return nil, err
	}
	acfg = acfg.WithDefaults()
	if err := errors.Join(acfg.Validate(app.RoleServe), acfg.ProvidersErr()); err != nil {
		return nil, err
	}
	s.app = app.New(acfg, app.RoleServe)
	s.app.Logger, s.app.Stdout = s.logger, io.Discard
	if err := s.app.Start(ctx); err != nil {
		return nil, err
	}
	s.st, s.rdb, s.redisURL = s.app.Store(), s.app.Redis(), s.app.RedisURL()
	s.base = "http://" + s.app.Addr()
	s.client = asynq.NewClientFromRedisClient(s.rdb)
	s.svc = &scheduler.Service{Store: s.st, Clock: beckon.SystemClock{}, Logger: s.logger}
	return s, nil
}

// database makes this run's database: a SQLite file in a new directory, or
// a new schema on DATABASE_URL. It returns the DSN that reaches it.
func (s *stack) database(ctx context.Context) (string, error) {
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		dir, err := os.MkdirTemp("", "beckon-bench-")
		if err != nil {
			return "", err
		}
		s.dbPath = filepath.Join(dir, "beckon.db")
		return s.dbPath, nil
	}
	schema := "beckon_bench_" + randomSuffix()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", err
	}
	_, err = db.ExecContext(ctx, "CREATE SCHEMA "+schema)
	db.Close()
	if err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	s.schema = schema
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// stopServing stops the in-process pump and worker (while Beckon
// processes of their own deliver instead); startServing starts them again.
func (s *stack) stopServing() { s.app.StopDelivery() }

func (s *stack) startServing(ctx context.Context) error { return s.app.StartDelivery(ctx) }

// serverConfig is the asynq configuration `beckon serve` uses, for a queue.
func (s *stack) serverConfig(queue string) asynq.Config {
	c := s.app.AsynqServerConfig()
	c.Queues = map[string]int{queue: 1}
	return c
}

// clinic creates a clinic without quiet hours and an admin key for it.
func (s *stack) clinic(ctx context.Context, name string) (beckon.Clinic, string, error) {
	now := time.Now().UTC()
	c := beckon.Clinic{ID: beckon.NewID("cln_"), Name: name, TimeZone: "UTC", CreatedAt: now, UpdatedAt: now}
	if err := s.st.ClinicCreate(ctx, c); err != nil {
		return c, "", err
	}
	secret := "bk_bench_" + randomSuffix() + randomSuffix()
	err := s.st.APIKeyCreate(ctx, beckon.APIKey{ID: beckon.NewID("key_"), ClinicID: c.ID, Role: beckon.RoleAdmin, Hash: api.HashKey(secret), CreatedAt: now})
	return c, secret, err
}

// redisMemory is Redis's used_memory in bytes, or -1 for the in-process Redis.
func (s *stack) redisMemory(ctx context.Context) int64 {
	if s.app.EmbeddedRedis() != nil {
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
	if s.app != nil {
		_ = s.app.Close()
	}
	if s.client != nil {
		_ = s.client.Close()
	}
	if s.standIn != nil {
		_ = s.standIn.close()
	}
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
