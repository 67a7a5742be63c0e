package app

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/beckonhealth/beckon/channels/routing"
	"github.com/beckonhealth/beckon/egress"
)

// Config is every setting of Beckon, read once: ConfigFromEnv, then
// BindFlags, then WithDefaults and Validate. Each field's comment gives its
// environment variable and default; flags of the same name (without BECKON_,
// lower case, dashes) override the environment. Provider settings come from
// the environment only.
type Config struct {
	// DatabaseURL (BECKON_DATABASE_URL or DATABASE_URL): postgres://… for
	// PostgreSQL, else a SQLite path. Default "beckon.db" in the working directory.
	DatabaseURL string
	// DBMaxConns (BECKON_DB_MAX_CONNS): the PostgreSQL connections this process
	// may open. Default by role: serve 30, api 20, worker 30, scheduler 5,
	// one-shot commands 4; the sum over every process must stay under the
	// server's max_connections (100 by default). When it cannot get one in
	// time, or PostgreSQL refuses with "too many clients", requests are
	// answered 503 with Retry-After.
	DBMaxConns int
	// RedisURL (BECKON_REDIS_URL or REDIS_URL): redis://[:password@]host:port/db,
	// redis-sentinel://[:password@]host1:26379,host2:26379/master?db=0 or
	// redis-cluster://[:password@]host1:7000,host2:7001 (redis.go).
	// Default empty: an in-process Redis, only for `serve`.
	RedisURL string
	// HTTPAddr (BECKON_HTTP_ADDR): where the API listens. Default 127.0.0.1:8080.
	HTTPAddr string
	// HTTPMaxConns (BECKON_HTTP_MAX_CONNS): connections the API holds open at
	// once; one more is answered 503 with Retry-After and closed. Default 512
	// (keep it under the process's file descriptor limit, `ulimit -n`, less
	// the database pool and Redis connections).
	HTTPMaxConns int
	// HTTPReadTimeout (BECKON_HTTP_READ_TIMEOUT): how long one request's
	// headers and body may take to arrive; a slower client is cut off.
	// Headers alone must arrive within 10s (or this, if shorter). Default 30s.
	HTTPReadTimeout time.Duration
	// HTTPIdleTimeout (BECKON_HTTP_IDLE_TIMEOUT): how long a keep-alive
	// connection may wait for its next request. Default 60s.
	HTTPIdleTimeout time.Duration
	// Queue (BECKON_QUEUE): the asynq queue sends go through. Default "sends".
	Queue string
	// Concurrency (BECKON_CONCURRENCY): tasks one worker runs at once. Default 500:
	// asynq schedules in whole seconds, so a task arrives up to a second before
	// its send is due and waits for it in a goroutine; at 500 sends/s spread
	// evenly about 250 wait at any moment. Database work is bounded by the pool.
	Concurrency int
	// PumpEvery (BECKON_PUMP_EVERY): the pump's robfig/cron schedule. Default "@every 1s".
	PumpEvery string
	// Horizon (BECKON_HORIZON): how far ahead sends are handed to Redis. Default 5m.
	Horizon time.Duration
	// Recheck (BECKON_RECHECK): how long before a still-planned send is
	// handed to Redis again (restores what a flushed or unreachable Redis
	// lost). Default 30s. (Stored provider statuses: 5s, see the pump.)
	Recheck time.Duration
	// ClaimTimeout (BECKON_CLAIM_TIMEOUT): how long a worker's claim on a send is
	// honoured without being renewed before it is treated as abandoned: a live
	// worker renews its claims four times per timeout. Default 5s.
	ClaimTimeout time.Duration
	// MaxRetry (BECKON_MAX_RETRY): delivery attempts after the first. Default 10.
	MaxRetry int
	// PollInterval (BECKON_POLL_INTERVAL): how often asynq looks for due tasks;
	// bounds how late a send can be. Default 100ms.
	PollInterval time.Duration
	// Demo (BECKON_DEMO): on an empty database, `serve` creates a demo clinic and
	// prints an admin API key. Default true.
	Demo bool
	// DemoTimeZone (BECKON_DEMO_TIME_ZONE): the demo clinic's zone. Default America/New_York.
	DemoTimeZone string
	// MLLPAddr (BECKON_MLLP_ADDR): where the HL7 v2 MLLP listener listens
	// (serve and api). Default empty: no listener.
	MLLPAddr string
	// MLLPClinic (BECKON_MLLP_CLINIC): the clinic every MLLP message belongs
	// to. Default empty: the clinic is found by the sending facility (MSH-4).
	MLLPClinic string
	// MLLPIdleTimeout (BECKON_MLLP_IDLE_TIMEOUT): an MLLP connection that
	// starts no frame (or does not finish one) for this long is closed. Default 2m.
	MLLPIdleTimeout time.Duration
	// MLLPMaxConns (BECKON_MLLP_MAX_CONNS): MLLP connections held open at
	// once; one more is closed at once. Default 64 (an interface engine keeps
	// one or a few).
	MLLPMaxConns int
	// AllowPrivateHosts (BECKON_ALLOW_PRIVATE_HOSTS): the internal hosts a
	// clinic's FHIR base and webhook URLs may point at (an on-premises EHR), a
	// comma list of CIDRs, IP addresses and host names, or "*" for any. Beckon
	// checks the address of every connection it opens to those URLs and
	// refuses loopback, private, link-local, CGNAT and other non-public ones
	// outside this list; plain http is accepted only for hosts in it.
	// Default empty: public hosts over https only.
	AllowPrivateHosts string
	// MetricsAddr (BECKON_METRICS_ADDR): where /metrics is served, alone
	// and without a key, so that roles without an API (worker, scheduler)
	// expose theirs. Default empty: the API serves /metrics (api and serve).
	MetricsAddr string
	// MetricsToken (BECKON_METRICS_TOKEN, environment only): the bearer
	// token /metrics on the API address asks for. Default empty: public.
	MetricsToken string
	// RetentionBodies (BECKON_RETENTION_BODIES): how long message bodies,
	// inbound texts and the contents of provider calls and message sends are
	// kept before the scheduler blanks them (ids, statuses, times and the
	// audit trail stay), as a Go duration or a number of days ("90d").
	// Default 90d.
	RetentionBodies time.Duration
	// RetentionArchives (BECKON_RETENTION_ARCHIVES): how long the raw EHR
	// feed archive (HL7 v2, FHIR) is kept before the scheduler deletes it,
	// likewise. Default 30d.
	RetentionArchives time.Duration
	// RetentionEvery (BECKON_RETENTION_EVERY): the retention job's
	// robfig/cron schedule (scheduler and serve). Default "@every 10m".
	RetentionEvery string
	// SecretKey (BECKON_SECRET_KEY, environment only): the key that seals
	// the secrets the database keeps (provider tokens and keys, FHIR
	// authorization, webhook secrets, the email links' key): base64 of 32
	// random bytes, the same in every process. Default: read from
	// SecretKeyFile; on PostgreSQL one of the two is required.
	SecretKey string
	// SecretKeysOld (BECKON_SECRET_KEYS_OLD, environment only): earlier
	// keys, comma-separated, that still open secrets until `beckon secrets
	// rotate` has sealed them again with SecretKey. Default none.
	SecretKeysOld string
	// SecretKeyFile (BECKON_SECRET_KEY_FILE): a file holding the key (a
	// mounted secret), read when SecretKey is unset; it must exist. Default
	// on SQLite: the database's path with ".key" appended, created (mode
	// 0600) with a new key on first start; on PostgreSQL none.
	SecretKeyFile string
	// LogLevel (BECKON_LOG_LEVEL): debug, info, warn, error. Default info.
	LogLevel string
	// LogFormat (BECKON_LOG_FORMAT): text or json. Default text.
	LogFormat string

	// Providers (BECKON_CHANNEL, BECKON_PUBLIC_URL, BECKON_TWILIO_*,
	// BECKON_SENDGRID_*, BECKON_PROVIDER_TIMEOUT, BECKON_PACE_MAX_WAIT): the
	// installation's delivery settings (providers.go).
	Providers routing.Settings
	// providersErr is what is wrong with Providers: the worker refuses to
	// start on it; the API logs it and verifies webhooks with what is valid.
	providersErr error
}

// ConfigFromEnv reads the environment; unset variables leave zero values
// (provider settings get their defaults here). What is wrong with the
// provider settings is not returned but kept for the roles that use them
// (ProvidersErr).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	r := &envReader{get: getenv}
	dur := func(name string) time.Duration { return r.duration(name, 0) }
	num := r.integer
	c.DatabaseURL = cmp.Or(getenv("BECKON_DATABASE_URL"), getenv("DATABASE_URL"))
	c.DBMaxConns = num("BECKON_DB_MAX_CONNS")
	c.RedisURL = cmp.Or(getenv("BECKON_REDIS_URL"), getenv("REDIS_URL"))
	c.HTTPAddr = getenv("BECKON_HTTP_ADDR")
	c.HTTPMaxConns = num("BECKON_HTTP_MAX_CONNS")
	c.HTTPReadTimeout = dur("BECKON_HTTP_READ_TIMEOUT")
	c.HTTPIdleTimeout = dur("BECKON_HTTP_IDLE_TIMEOUT")
	c.Queue = getenv("BECKON_QUEUE")
	c.Concurrency = num("BECKON_CONCURRENCY")
	c.PumpEvery = getenv("BECKON_PUMP_EVERY")
	c.Horizon = dur("BECKON_HORIZON")
	c.Recheck = dur("BECKON_RECHECK")
	c.ClaimTimeout = dur("BECKON_CLAIM_TIMEOUT")
	c.MaxRetry = num("BECKON_MAX_RETRY")
	c.PollInterval = dur("BECKON_POLL_INTERVAL")
	c.Demo = r.boolean("BECKON_DEMO", true)
	c.DemoTimeZone = getenv("BECKON_DEMO_TIME_ZONE")
	c.MLLPAddr = getenv("BECKON_MLLP_ADDR")
	c.MLLPClinic = getenv("BECKON_MLLP_CLINIC")
	c.MLLPIdleTimeout = dur("BECKON_MLLP_IDLE_TIMEOUT")
	c.MLLPMaxConns = num("BECKON_MLLP_MAX_CONNS")
	c.AllowPrivateHosts = getenv("BECKON_ALLOW_PRIVATE_HOSTS")
	c.MetricsAddr = getenv("BECKON_METRICS_ADDR")
	c.MetricsToken = getenv("BECKON_METRICS_TOKEN")
	c.RetentionBodies = r.period("BECKON_RETENTION_BODIES")
	c.RetentionArchives = r.period("BECKON_RETENTION_ARCHIVES")
	c.RetentionEvery = getenv("BECKON_RETENTION_EVERY")
	c.SecretKey = getenv("BECKON_SECRET_KEY")
	c.SecretKeysOld = getenv("BECKON_SECRET_KEYS_OLD")
	c.SecretKeyFile = getenv("BECKON_SECRET_KEY_FILE")
	c.LogLevel = getenv("BECKON_LOG_LEVEL")
	c.LogFormat = getenv("BECKON_LOG_FORMAT")
	c.Providers, c.providersErr = providersFromEnv(getenv)
	return c, r.err()
}

// BindFlags lets flags override c: the flags of the settings the role uses
// (the one-shot commands use only the database and logging), each usage
// naming its environment variable.
func (c *Config) BindFlags(fs *flag.FlagSet, role string) {
	all := flag.NewFlagSet("", flag.ContinueOnError)
	c.bindAll(all)
	all.VisitAll(func(f *flag.Flag) {
		if LongRunning(role) || oneShotFlags[f.Name] {
			fs.Var(f.Value, f.Name, f.Usage+" ["+strings.Join(FlagEnv(f.Name), " or ")+"]")
		}
	})
}

// oneShotFlags are the settings the one-shot commands (migrate, clinic
// create, key create, ehr replay) use: they open the store and log.
var oneShotFlags = map[string]bool{"database-url": true, "db-max-conns": true, "log-level": true, "log-format": true, "secret-key-file": true}

// FlagEnv is the environment variables of the flag's setting (the one
// ConfigFromEnv reads first, first): BECKON_ and the flag's name in upper
// case with underscores, and for the database and Redis URLs also the
// conventional name without the prefix.
func FlagEnv(name string) []string {
	env := "BECKON_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	switch name {
	case "database-url", "redis-url":
		return []string{env, strings.TrimPrefix(env, "BECKON_")}
	}
	return []string{env}
}

// bindAll binds every setting's flag.
func (c *Config) bindAll(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres:// URL or SQLite path (default beckon.db)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", c.DBMaxConns, "PostgreSQL connections of this process (default by role: serve 30, api 20, worker 30, scheduler 5, others 4)")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "redis://, redis-sentinel:// or redis-cluster:// URL (default: in-process Redis, serve only)")
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "API listen address (default 127.0.0.1:8080)")
	fs.IntVar(&c.HTTPMaxConns, "http-max-conns", c.HTTPMaxConns, "API connections open at once (default 512)")
	fs.DurationVar(&c.HTTPReadTimeout, "http-read-timeout", c.HTTPReadTimeout, "time for one request's headers and body (default 30s)")
	fs.DurationVar(&c.HTTPIdleTimeout, "http-idle-timeout", c.HTTPIdleTimeout, "keep-alive wait for the next request (default 60s)")
	fs.StringVar(&c.Queue, "queue", c.Queue, "asynq queue (default sends)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "tasks at once per worker (default 500)")
	fs.StringVar(&c.PumpEvery, "pump-every", c.PumpEvery, "pump schedule (default @every 1s)")
	fs.DurationVar(&c.Horizon, "horizon", c.Horizon, "how far ahead sends go to Redis (default 5m)")
	fs.DurationVar(&c.Recheck, "recheck", c.Recheck, "re-enqueue still-planned sends after (default 30s)")
	fs.DurationVar(&c.ClaimTimeout, "claim-timeout", c.ClaimTimeout, "abandoned-claim timeout (default 5s)")
	fs.IntVar(&c.MaxRetry, "max-retry", c.MaxRetry, "delivery retries (default 10)")
	fs.DurationVar(&c.PollInterval, "poll-interval", c.PollInterval, "asynq due-task poll interval (default 100ms)")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "create a demo clinic and key on an empty database (default true)")
	fs.StringVar(&c.MLLPAddr, "mllp-addr", c.MLLPAddr, "HL7 v2 MLLP listen address (default: none)")
	fs.StringVar(&c.MLLPClinic, "mllp-clinic", c.MLLPClinic, "clinic of every MLLP message (default: by sending facility)")
	fs.DurationVar(&c.MLLPIdleTimeout, "mllp-idle-timeout", c.MLLPIdleTimeout, "MLLP idle/frame timeout (default 2m)")
	fs.StringVar(&c.AllowPrivateHosts, "allow-private-hosts", c.AllowPrivateHosts, `internal hosts clinic URLs may reach: CIDRs, IPs, names, or "*" (default: none)`)
	fs.IntVar(&c.MLLPMaxConns, "mllp-max-conns", c.MLLPMaxConns, "MLLP connections open at once (default 64)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "/metrics listen address, without a key (default: on the API address)")
	fs.Var((*periodValue)(&c.RetentionBodies), "retention-bodies", "keep message bodies and inbound texts for (default 90d)")
	fs.Var((*periodValue)(&c.RetentionArchives), "retention-archives", "keep raw EHR feed archives for (default 30d)")
	fs.StringVar(&c.RetentionEvery, "retention-every", c.RetentionEvery, "retention job schedule (default @every 10m)")
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", c.SecretKeyFile, "file holding the secret key when BECKON_SECRET_KEY is unset (default on SQLite: the database path + .key, created on first start)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn, error (default info)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json (default text)")
}

// WithDefaults fills every zero field.
func (c Config) WithDefaults() Config {
	c.DatabaseURL = cmp.Or(c.DatabaseURL, "beckon.db")
	c.HTTPAddr = cmp.Or(c.HTTPAddr, "127.0.0.1:8080")
	c.HTTPMaxConns = cmp.Or(c.HTTPMaxConns, 512)
	c.HTTPReadTimeout = cmp.Or(c.HTTPReadTimeout, 30*time.Second)
	c.HTTPIdleTimeout = cmp.Or(c.HTTPIdleTimeout, 60*time.Second)
	c.Queue = cmp.Or(c.Queue, "sends")
	c.Concurrency = cmp.Or(c.Concurrency, 500)
	c.PumpEvery = cmp.Or(c.PumpEvery, "@every 1s")
	c.Horizon = cmp.Or(c.Horizon, 5*time.Minute)
	c.Recheck = cmp.Or(c.Recheck, 30*time.Second)
	c.ClaimTimeout = cmp.Or(c.ClaimTimeout, 5*time.Second)
	c.MaxRetry = cmp.Or(c.MaxRetry, 10)
	c.PollInterval = cmp.Or(c.PollInterval, 100*time.Millisecond)
	c.DemoTimeZone = cmp.Or(c.DemoTimeZone, "America/New_York")
	c.MLLPIdleTimeout = cmp.Or(c.MLLPIdleTimeout, 2*time.Minute)
	c.MLLPMaxConns = cmp.Or(c.MLLPMaxConns, 64)
	c.RetentionBodies = cmp.Or(c.RetentionBodies, 90*24*time.Hour)
	c.RetentionArchives = cmp.Or(c.RetentionArchives, 30*24*time.Hour)
	c.RetentionEvery = cmp.Or(c.RetentionEvery, "@every 10m")
	c.LogLevel = cmp.Or(c.LogLevel, "info")
	c.LogFormat = cmp.Or(c.LogFormat, "text")
	return c
}

// Validate checks fields against each other, for the role that runs.
func (c Config) Validate(role string) error {
	var errs []error
	if c.RedisURL == "" && LongRunning(role) && role != RoleServe {
		errs = append(errs, fmt.Errorf("%s runs as a separate process and needs REDIS_URL (the in-process Redis exists only in `beckon serve`)", role))
	}
	if c.RedisURL != "" {
		if _, err := parseRedisURL(c.RedisURL); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Recheck >= c.Horizon {
		errs = append(errs, fmt.Errorf("recheck (%s) must be shorter than horizon (%s)", c.Recheck, c.Horizon))
	}
	if _, err := cron.ParseStandard(c.RetentionEvery); err != nil {
		errs = append(errs, fmt.Errorf("retention schedule %q: %w", c.RetentionEvery, err))
	}
	if _, err := egress.ParsePolicy(c.AllowPrivateHosts); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateSecretKeys())
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q: use debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q: use text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

// ProvidersErr is what is wrong with the provider settings, if anything.
func (c Config) ProvidersErr() error { return c.providersErr }

// EgressPolicy is AllowPrivateHosts parsed (Validate reports a bad list).
func (c Config) EgressPolicy() egress.Policy {
	p, _ := egress.ParsePolicy(c.AllowPrivateHosts)
	return p
}

// PoolSize is DBMaxConns or the role's default.
func (c Config) PoolSize(role string) int {
	if c.DBMaxConns > 0 {
		return c.DBMaxConns
	}
	switch role {
	case RoleServe, RoleWorker:
		return 30
	case RoleAPI:
		return 20
	case RoleScheduler:
		return 5
	}
	return 4
}
