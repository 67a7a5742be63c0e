package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
)

// idleWindow is how long the procs phase watches Redis while the beckon
// processes have nothing to do.
const idleWindow = 3 * time.Second

// benchProcs is the timing phase as a deployment runs it: separate `beckon
// scheduler` and `beckon worker` processes (the real binary) on the same
// database and Redis deliver sends spread evenly at the configured rate
// through the Twilio stand-in, and lateness is measured as in the timing
// phase. It also reports what the processes cost: Redis commands and CPU
// (idle and while sending), and the processes' CPU and peak memory.
func (s *stack) benchProcs(ctx context.Context) (_ []result, err error) {
	bin := s.cfg.beckon
	if bin == "" {
		dir, err := os.MkdirTemp("", "beckon-bench-bin-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if bin, err = buildBeckon(ctx, dir); err != nil {
			return nil, err
		}
	}
	// This process's pump and worker stand aside while the beckon processes
	// pump and deliver (they would take the sends otherwise).
	s.stopServing()
	defer func() {
		if serr := s.startServing(ctx); serr != nil && err == nil {
			err = serr
		}
	}()
	queue := "bench-procs-" + randomSuffix()
	var workers, schedulers []*beckonProc
	defer func() {
		for _, p := range append(workers, schedulers...) {
			if serr := p.stop(); serr != nil && err == nil {
				err = serr
			}
		}
		_ = asynq.NewInspectorFromRedisClient(s.rdb).DeleteQueue(queue, true)
	}()
	env := s.beckonEnv(queue)
	for range s.cfg.schedulers {
		p, err := startBeckon(ctx, bin, "scheduler", env)
		if err != nil {
			return nil, err
		}
		schedulers = append(schedulers, p)
	}
	for range s.cfg.workers {
		p, err := startBeckon(ctx, bin, "worker", env)
		if err != nil {
			return nil, err
		}
		workers = append(workers, p)
	}

	snap := func() snapshot {
		return snapshot{at: time.Now(), redis: s.redisStats(ctx), workerCPU: cpuOf(workers), schedCPU: cpuOf(schedulers)}
	}
	idleFrom := snap()
	select {
	case <-time.After(idleWindow):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	idle := snap().since(idleFrom)

	r, err := s.bookSteady(ctx, "procs")
	if err != nil {
		return nil, err
	}
	// Sending: from the first due time to the last arrival.
	atFirst := make(chan snapshot, 1)
	timer := time.AfterFunc(time.Until(r.first), func() { atFirst <- snap() })
	defer timer.Stop()
	if _, err := s.arrivals.wait(ctx, r.start+r.k, r.first.Add(s.cfg.duration+10*time.Minute)); err != nil {
		return nil, err
	}
	sending := snap().since(<-atFirst)
	l, err := s.lateness(ctx, r)
	if err != nil {
		return nil, err
	}

	rs := l.results("procs", s.cfg.rate)
	rs = append(rs,
		result{"procs", "worker processes", float64(len(workers)), "count"},
		result{"procs", "scheduler processes", float64(len(schedulers)), "count"},
		result{"procs", "poll interval (BECKON_POLL_INTERVAL)", float64(s.cfg.pollInterval.Microseconds()) / 1000, "ms"},
	)
	for _, w := range []struct {
		name string
		load load
	}{{"idle", idle}, {"sending", sending}} {
		if w.load.redisOK {
			rs = append(rs,
				result{"procs", "Redis commands/s, " + w.name, w.load.perSecond(w.load.commands), "1/s"},
				result{"procs", "Redis CPU, " + w.name, w.load.share(w.load.redisCPU), "% of a core"},
			)
		}
		rs = append(rs,
			result{"procs", "worker processes' CPU, " + w.name, w.load.share(w.load.workerCPU), "% of a core"},
			result{"procs", "scheduler processes' CPU, " + w.name, w.load.share(w.load.schedCPU), "% of a core"},
		)
	}
	rs = append(rs,
		result{"procs", "worker processes' CPU per message", float64(sending.workerCPU.Microseconds()) / float64(r.k), "µs"},
		result{"procs", "peak RSS of a worker process", float64(maxRSS(workers)) / (1 << 20), "MiB"},
		result{"procs", "peak RSS of a scheduler process", float64(maxRSS(schedulers)) / (1 << 20), "MiB"},
		result{"procs", "warnings and errors logged", float64(warningsOf(append(workers, schedulers...))), "count"},
	)
	return rs, nil
}

// beckonEnv is the environment of the beckon processes (over this
// process's, so other BECKON_* settings pass through): settings, and this
// run's Redis.
func (s *stack) beckonEnv(queue string) []string {
	env := s.settings(queue)
	env["BECKON_REDIS_URL"] = s.redisURL
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// settings are what every Beckon of the run is given, in this process
// (serve) and in the procs phase's processes: this run's database, a queue
// of its own, the concurrency and poll interval, and the Twilio stand-in as
// every clinic's SMS provider. The sender is rated at -sender-rate, so
// pacing costs its Redis round trips but (by default) never a wait: sends
// due together would otherwise be spread at the sender's rate, which is
// pacing, not lateness.
func (s *stack) settings(queue string) map[string]string {
	return map[string]string{
		"BECKON_DATABASE_URL":  s.dsn,
		"BECKON_SECRET_KEY":    s.secretKey,
		"BECKON_QUEUE":         queue,
		"BECKON_CONCURRENCY":   strconv.Itoa(s.cfg.concurrency),
		"BECKON_POLL_INTERVAL": s.cfg.pollInterval.String(),
		"BECKON_LOG_FORMAT":    "json",
		"BECKON_LOG_LEVEL":     "info",
		"BECKON_CHANNEL":       "providers",
		// Twilio's status callbacks go nowhere: the stand-in does not send them.
		"BECKON_PUBLIC_URL":         "http://127.0.0.1:9",
		"BECKON_TWILIO_ACCOUNT_SID": twiliotest.AccountSID,
		"BECKON_TWILIO_AUTH_TOKEN":  twiliotest.AuthToken,
		"BECKON_TWILIO_FROM":        "+14155550100",
		"BECKON_TWILIO_BASE_URL":    s.standIn.URL,
		"BECKON_TWILIO_PER_SECOND":  strconv.FormatFloat(s.cfg.senderRate, 'f', -1, 64),
	}
}

// snapshot is what Redis and the beckon processes have done so far.
type snapshot struct {
	at                  time.Time
	redis               redisStats
	workerCPU, schedCPU time.Duration
}

// redisStats is Redis's command count and CPU time so far.
type redisStats struct {
	ok       bool // false: not known (the in-process Redis)
	commands int64
	cpu      time.Duration
}

// load is what was done between two snapshots.
type load struct {
	span                          time.Duration
	redisOK                       bool
	commands                      int64
	redisCPU, workerCPU, schedCPU time.Duration
}

func (s snapshot) since(from snapshot) load {
	return load{
		span:      s.at.Sub(from.at),
		redisOK:   s.redis.ok && from.redis.ok,
		commands:  s.redis.commands - from.redis.commands,
		redisCPU:  s.redis.cpu - from.redis.cpu,
		workerCPU: s.workerCPU - from.workerCPU,
		schedCPU:  s.schedCPU - from.schedCPU,
	}
}

func (l load) perSecond(n int64) float64 { return float64(n) / l.span.Seconds() }

// share is CPU time as a share of one core over the span, in percent.
func (l load) share(cpu time.Duration) float64 { return 100 * cpu.Seconds() / l.span.Seconds() }

// redisStats reads Redis's INFO. It counts every client's commands: on a
// Redis others use too, the figures include theirs.
func (s *stack) redisStats(ctx context.Context) redisStats {
	if s.app.EmbeddedRedis() != nil {
		return redisStats{}
	}
	info, err := s.rdb.InfoMap(ctx, "stats", "cpu").Result()
	if err != nil {
		return redisStats{}
	}
	commands, err1 := strconv.ParseInt(info["Stats"]["total_commands_processed"], 10, 64)
	user, err2 := strconv.ParseFloat(info["CPU"]["used_cpu_user"], 64)
	sys, err3 := strconv.ParseFloat(info["CPU"]["used_cpu_sys"], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return redisStats{}
	}
	return redisStats{ok: true, commands: commands, cpu: time.Duration((user + sys) * float64(time.Second))}
}

func cpuOf(ps []*beckonProc) time.Duration {
	var sum time.Duration
	for _, p := range ps {
		sum += p.cpuTime()
	}
	return sum
}

func maxRSS(ps []*beckonProc) int64 {
	var m int64
	for _, p := range ps {
		m = max(m, p.peakRSS())
	}
	return m
}

func warningsOf(ps []*beckonProc) int64 {
	var n int64
	for _, p := range ps {
		n += p.warnings.Load()
	}
	return n
}
