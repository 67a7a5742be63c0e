package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

var errUsage = errors.New("usage")

// Main is the program: tests build one, call ParseFlags and Run, and Close it.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer // logs go here
	Getenv func(string) string
	Clock  scheduler.Clock

	Config Config
	role   string
	admin  adminArgs
	// feedReplay holds the flags of `beckon ehr replay` (replay.go).
	feedReplay replayArgs

	logger *slog.Logger
	store  store.Store
	mini   *miniredis.Miniredis
	rdb    redis.UniversalClient
	client *asynq.Client
	server *asynq.Server
	pump   *scheduler.Pump
	http   *http.Server
	ln     net.Listener
	serveW sync.WaitGroup
	feeds  feeds // the MLLP listener (feeds.go)
	// providers are the provider settings, read once when Run starts, and
	// what is wrong with them (the worker refuses to start on it; the API
	// logs it and verifies webhooks with what is valid).
	providers    ProviderConfig
	providersErr error

	// DemoKey is the admin key printed for a new demo clinic (empty otherwise).
	DemoKey string
	// DemoClinicID is the demo clinic's id, when one was created.
	DemoClinicID string
}

// NewMain returns a Main bound to the process's streams and environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Clock: scheduler.SystemClock{}}
}

const usage = `beckon: patient messaging and appointment reminders

Usage:
  beckon serve      every role in one process (embedded defaults: SQLite, in-process Redis, outbox)
  beckon api        the HTTP API only            (needs REDIS_URL)
  beckon worker     delivery workers only        (needs REDIS_URL)
  beckon scheduler  the pump only                (needs REDIS_URL)
  beckon migrate    apply database migrations and exit
  beckon clinic create -name NAME [-time-zone ZONE] [-phone E164]
  beckon key create -clinic ID [-role admin|ehr] [-name NAME]
  beckon ehr replay [-clinic ID] [-since TIME] [-id inb_…] [-failed] [-from DB] [-dry-run]

Run "beckon serve -h" for the settings; each also reads BECKON_* variables.
`

// ParseFlags reads the command and its flags.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	cfg, err := configFromEnv(m.Getenv)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return errUsage
	}
	role, rest := args[0], args[1:]
	switch role {
	case "serve", "api", "worker", "scheduler", "migrate":
	case "ehr":
		if len(rest) == 0 || rest[0] != "replay" {
			fmt.Fprint(m.Stderr, usage)
			return errUsage
		}
		role, rest = "ehr-replay", rest[1:]
	case "clinic", "key":
		if len(rest) == 0 || rest[0] != "create" {
			fmt.Fprint(m.Stderr, usage)
			return errUsage
		}
		role, rest = "admin-"+role, rest[1:]
	case "-h", "--help", "help":
		fmt.Fprint(m.Stdout, usage)
		return errUsage
	default:
		fmt.Fprintf(m.Stderr, "unknown command %q\n\n%s", role, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("beckon "+role, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	cfg.bindFlags(fs)
	m.admin.bindFlags(fs, role)
	m.feedReplay.bindFlags(fs, role)
	if err := fs.Parse(rest); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	m.Config = cfg.withDefaults()
	m.role = role
	return m.Config.validate(role)
}

// LongRunning reports whether the command serves until stopped.
func (m *Main) LongRunning() bool {
	switch m.role {
	case "serve", "api", "worker", "scheduler":
		return true
	}
	return false
}

// Addr is where the API listens, once Run has started it.
func (m *Main) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Run starts the command's roles and returns once they run (admin commands do
// their work and return).
func (m *Main) Run(ctx context.Context) error {
	m.logger = newLogger(m.Stderr, m.Config)
	st, err := store.OpenWith(ctx, m.Config.DatabaseURL, store.Options{MaxConns: m.Config.dbMaxConns(m.role)})
	if err != nil {
		return err
	}
	m.store = st
	switch m.role {
	case "migrate":
		fmt.Fprintln(m.Stdout, "database is up to date")
		return nil
	case "admin-clinic":
		return m.createClinic(ctx)
	case "admin-key":
		return m.createKey(ctx)
	case "ehr-replay":
		return m.replay(ctx)
	}
	if err := m.openRedis(ctx); err != nil {
		return err
	}
	m.providers, m.providersErr = m.providerConfig()
	svc := &scheduler.Service{Store: st, Clock: m.Clock, Logger: m.logger}
	if m.role == "serve" || m.role == "api" {
		if m.Config.Demo {
			if err := m.bootstrapDemo(ctx); err != nil {
				return err
			}
		}
		if err := m.startAPI(svc); err != nil {
			return err
		}
	}
	if m.role == "serve" || m.role == "worker" {
		if err := m.startWorker(); err != nil {
			return err
		}
	}
	if m.role == "serve" || m.role == "scheduler" {
		m.pump = scheduler.NewPump(st, m.client, m.Clock, m.logger, scheduler.PumpConfig{
			Every:        m.Config.PumpEvery,
			Horizon:      m.Config.Horizon,
			Recheck:      m.Config.Recheck,
			ClaimTimeout: m.Config.ClaimTimeout,
			Queue:        m.Config.Queue,
			MaxRetry:     m.Config.MaxRetry,
			Inspector:    asynq.NewInspectorFromRedisClient(m.rdb),
		})
		if err := m.pump.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	if err := m.startFeeds(ctx); err != nil {
		return err
	}
	m.logger.Info("beckon started", slog.String("role", m.role), slog.String("store", st.Dialect()), slog.Bool("embedded_redis", m.mini != nil))
	return nil
}

func (m *Main) openRedis(ctx context.Context) error {
	if m.Config.RedisURL == "" {
		m.mini = miniredis.NewMiniRedis()
		if err := m.mini.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("start in-process redis: %w", err)
		}
		m.rdb = redis.NewClient(&redis.Options{Addr: m.mini.Addr()})
	} else {
		opt, err := redis.ParseURL(m.Config.RedisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		m.rdb = redis.NewClient(opt)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := m.rdb.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("redis not reachable: %w", err)
	}
	m.client = asynq.NewClientFromRedisClient(m.rdb)
	return nil
}

func (m *Main) startAPI(svc *scheduler.Service) error {
	srv := api.New(api.Config{
		Store:    m.store,
		Service:  svc,
		Clock:    m.Clock,
		Logger:   m.logger,
		Ready:    func(ctx context.Context) error { return m.rdb.Ping(ctx).Err() },
		Tasks:    m.client,
		Delivery: m.deliveryConfig(),
		Queue:    m.Config.Queue,
		Egress:   m.Config.egressPolicy(),
	})
	ln, err := net.Listen("tcp", m.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.HTTPAddr, err)
	}
	m.ln = ln
	m.http = &http.Server{
		Handler:           api.CloseUnfinished(srv),
		ReadHeaderTimeout: min(10*time.Second, m.Config.HTTPReadTimeout),
		ReadTimeout:       m.Config.HTTPReadTimeout,
		WriteTimeout:      time.Minute,
		IdleTimeout:       m.Config.HTTPIdleTimeout,
	}
	ln = api.LimitHTTP(ln, m.Config.HTTPMaxConns)
	m.serveW.Add(1)
	go func() {
		defer m.serveW.Done()
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.logger.Error("http server stopped", slog.String("error", err.Error()))
		}
	}()
	fmt.Fprintf(m.Stdout, "Beckon API listening on http://%s (OpenAPI: /openapi.json)\n", ln.Addr())
	return nil
}

func (m *Main) startWorker() error {
	router, err := m.channelRouter()
	if err != nil {
		return err
	}
	d := worker.NewDeliverer(m.store, router, m.Clock, m.logger, m.workerConfig())
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeDeliver, d)
	if err := m.registerHandlers(mux, router); err != nil {
		return err
	}
	m.server = asynq.NewServerFromRedisClient(m.rdb, m.asynqConfig())
	if err := m.server.Start(mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	return nil
}

// asynqConfig is the worker's asynq server configuration.
func (m *Main) asynqConfig() asynq.Config {
	return asynq.Config{
		Concurrency:              m.Config.Concurrency,
		Queues:                   map[string]int{m.Config.Queue: 1},
		TaskCheckInterval:        m.Config.PollInterval,
		DelayedTaskCheckInterval: m.Config.PollInterval,
		RetryDelayFunc: func(n int, err error, _ *asynq.Task) time.Duration {
			if errors.Is(err, worker.ErrBusy) {
				return 5 * time.Second
			}
			return worker.RetryDelay(n)
		},
		IsFailure:       func(err error) bool { return !errors.Is(err, worker.ErrBusy) },
		ShutdownTimeout: 30 * time.Second,
		Logger:          asynqLogger{m.logger.With(slog.String("component", "asynq"))},
		LogLevel:        asynqLevel(m.Config.LogLevel),
		ErrorHandler:    worker.TaskErrorHandler(m.logger),
	}
}

// bootstrapDemo creates a demo clinic and an admin key on an empty database.
func (m *Main) bootstrapDemo(ctx context.Context) error {
	cs, err := m.store.ClinicList(ctx)
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		if m.role == "serve" {
			fmt.Fprintf(m.Stdout, "Using the existing database (%d clinic(s)); create a key with: beckon key create -clinic %s\n", len(cs), cs[0].ID)
		}
		return nil
	}
	now := m.Clock.Now()
	c := store.Clinic{
		ID:         store.NewID("cln_"),
		Name:       "Demo Clinic",
		TimeZone:   m.Config.DemoTimeZone,
		QuietHours: store.DefaultQuietHours,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	if err := m.store.ClinicCreate(ctx, c); err != nil {
		return err
	}
	key, err := m.newKey(ctx, c.ID, store.RoleAdmin, "demo admin")
	if err != nil {
		return err
	}
	m.DemoKey, m.DemoClinicID = key, c.ID
	fmt.Fprintf(m.Stdout, "Created the demo clinic %s (%s).\nAdmin API key (shown once, keep it): %s\n", c.ID, c.TimeZone, key)
	return nil
}

// newKey creates an API key and returns its secret; only the hash is stored.
func (m *Main) newKey(ctx context.Context, clinicID, role, name string) (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	secret := "bk_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	err := m.store.APIKeyCreate(ctx, store.APIKey{
		ID:        store.NewID("key_"),
		ClinicID:  clinicID,
		Name:      name,
		Role:      role,
		Hash:      api.HashKey(secret),
		CreatedAt: m.Clock.Now(),
	})
	return secret, err
}

// Close stops every role and releases resources, in reverse order of start.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	errs = append(errs, m.closeFeeds())
	if m.http != nil {
		errs = append(errs, m.http.Shutdown(ctx))
		m.serveW.Wait()
	}
	if m.pump != nil {
		m.pump.Stop()
	}
	if m.server != nil {
		m.server.Shutdown()
	}
	// The asynq client shares m.rdb, which is closed below.
	if m.rdb != nil {
		errs = append(errs, m.rdb.Close())
	}
	if m.mini != nil {
		m.mini.Close()
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
	}
	return errors.Join(errs...)
}
