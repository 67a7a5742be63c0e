// Command beckon-bench measures Beckon on this machine, running in its process
// what `beckon serve` runs (package app, configured as serve is):
// ingest through the REST API, delivery through the Twilio stand-in against a
// bare asynq server on the same Redis, lateness at a steady rate (in this
// process, and through separate `beckon scheduler` and `beckon worker`
// processes), Redis growth for appointments beyond the horizon, and peak
// memory. It uses PostgreSQL and Redis when DATABASE_URL and REDIS_URL are
// set, the embedded defaults otherwise.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata"

	_ "github.com/jackc/pgx/v5/stdlib"
)

type config struct {
	appointments int
	sends        int
	rate         int
	hl7          int
	duration     time.Duration
	concurrency  int
	pollInterval time.Duration
	due          string // dueSpread or dueWholeSeconds
	phases       string
	json         bool
	cpuProfile   string
	memProfile   string
	// The procs phase: the beckon binary (empty: build it), and how many
	// worker and scheduler processes run it.
	beckon     string
	workers    int
	schedulers int
	senderRate float64 // BECKON_TWILIO_PER_SECOND
	// The replies phase: replies a second for -duration, then how many as
	// fast as possible.
	replyRate int
	replies   int
}

// result is one measured figure.
type result struct {
	Phase  string  `json:"phase"`
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == standInFlag {
		serveStandIn()
		return
	}
	var cfg config
	flag.IntVar(&cfg.appointments, "appointments", 100_000, "appointments to ingest (three-step campaign, 30 days ahead)")
	flag.IntVar(&cfg.sends, "sends", 50_000, "sends due at once for the delivery phase")
	flag.IntVar(&cfg.hl7, "hl7", 20_000, "SIU S12 messages for the mllp phase")
	flag.IntVar(&cfg.rate, "rate", 500, "sends per second for the timing phases")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "length of the timing phases")
	flag.IntVar(&cfg.concurrency, "concurrency", 500, "deliveries at once (asynq concurrency), for Beckon and bare asynq alike")
	flag.DurationVar(&cfg.pollInterval, "poll-interval", 100*time.Millisecond, "asynq's poll for due tasks (BECKON_POLL_INTERVAL), in this process and the beckon processes")
	flag.StringVar(&cfg.due, "due", dueWholeSeconds, "timing phases: each second's sends due at the whole second (second), as reminders of appointments on whole minutes are, or evenly through each second (spread)")
	flag.StringVar(&cfg.phases, "phases", "ingest,resync,mllp,delivery,timing,replies,procs", "phases to run (resync needs ingest before it)")
	flag.IntVar(&cfg.replyRate, "reply-rate", 200, "replies phase: signed inbound webhooks per second for -duration")
	flag.IntVar(&cfg.replies, "replies", 10_000, "replies phase: inbound webhooks posted as fast as possible after the steady ones")
	flag.StringVar(&cfg.beckon, "beckon", "", "the beckon binary for the procs phase (default: go build it from this module)")
	flag.IntVar(&cfg.workers, "workers", 1, "beckon worker processes in the procs phase")
	flag.IntVar(&cfg.schedulers, "schedulers", 1, "beckon scheduler processes in the procs phase")
	flag.Float64Var(&cfg.senderRate, "sender-rate", 1e6, "the SMS sender's rate (BECKON_TWILIO_PER_SECOND), in this process and the procs phase's; the default never makes a send wait")
	flag.BoolVar(&cfg.json, "json", false, "print JSON instead of a table")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&cfg.memProfile, "memprofile", "", "write a heap profile of the whole run to this file, and of each phase as it ends to this file.<phase>")
	flag.Parse()
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "beckon-bench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results, err := run(ctx, cfg)
	report(cfg, results)
	if cfg.memProfile != "" {
		writeHeapProfile(cfg.memProfile)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "beckon-bench:", err)
		os.Exit(1)
	}
}

// writeHeapProfile writes the heap profile (allocations, and what is live
// now) to path; a failure only loses the profile.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "beckon-bench:", err)
		return
	}
	defer f.Close()
	_ = pprof.Lookup("allocs").WriteTo(f, 0)
}

// report writes the results as a table, or as JSON.
func report(cfg config, results []result) {
	if cfg.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"backend": backend(), "due": cfg.due, "results": results})
		return
	}
	fmt.Printf("backend: %s\ntiming phases: sends due %s\n\n", backend(), dueDescription[cfg.due])
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "phase\tmetric\tvalue\tunit\t")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t\n", r.Phase, r.Metric, format(r.Value), r.Unit)
	}
	_ = w.Flush()
}

func format(v float64) string {
	switch {
	case v == float64(int64(v)):
		return fmt.Sprintf("%d", int64(v))
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func backend() string {
	db, rd := "SQLite", "in-process Redis (miniredis)"
	if os.Getenv("DATABASE_URL") != "" {
		db = "PostgreSQL"
	}
	if os.Getenv("REDIS_URL") != "" {
		rd = "Redis"
	}
	return db + " + " + rd
}

func run(ctx context.Context, cfg config) ([]result, error) {
	if _, ok := dueDescription[cfg.due]; !ok {
		return nil, fmt.Errorf("-due %q: use %s or %s", cfg.due, dueWholeSeconds, dueSpread)
	}
	s, err := newStack(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer s.close()
	var all []result
	for _, phase := range strings.Split(cfg.phases, ",") {
		phase = strings.TrimSpace(phase)
		resetPeakRSS()
		var rs []result
		var err error
		switch phase {
		case "ingest":
			rs, err = s.benchIngest(ctx)
		case "resync":
			rs, err = s.benchResync(ctx)
		case "delivery":
			rs, err = s.benchDelivery(ctx)
		case "timing":
			rs, err = s.benchTiming(ctx)
		case "mllp":
			rs, err = s.benchMLLP(ctx)
		case "replies":
			rs, err = s.benchReplies(ctx)
		case "procs":
			rs, err = s.benchProcs(ctx)
		default:
			return nil, fmt.Errorf("unknown phase %q", phase)
		}
		if err != nil {
			return all, fmt.Errorf("%s: %w", phase, err)
		}
		if phase != "procs" { // there Beckon is in other processes, which report their own
			rs = append(rs, result{Phase: phase, Metric: "peak RSS", Value: float64(peakRSS()) / (1 << 20), Unit: "MiB"})
		}
		if cfg.memProfile != "" {
			writeHeapProfile(cfg.memProfile + "." + phase)
		}
		all = append(all, rs...)
	}
	return all, nil
}
