package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/metrics"
)

// metricsTTL is how long the values read on scrape (queues, sends due) are
// reused: scrapes of several Prometheus servers cost one read.
const metricsTTL = 5 * time.Second

// startMetrics builds the process's registry: what every role counts, the
// database pool, and, in the roles that run the pump, the asynq queues and
// the sends due but not queued. With BECKON_METRICS_ADDR it serves them
// there; otherwise the API serves them (startAPI).
func (a *App) startMetrics() error {
	m := metrics.New(a.Logger)
	if s, ok := a.store.(interface{ DBStats() sql.DBStats }); ok {
		m.WatchDB(s.DBStats)
	}
	if runsPump(a.Role) {
		m.WatchQueues(asynq.NewInspectorFromRedisClient(a.rdb), metricsTTL)
		if s, ok := a.store.(interface {
			SendCountDueUnqueued(ctx context.Context, before time.Time) (int, error)
		}); ok {
			m.WatchDue(s.SendCountDueUnqueued, a.Clock.Now, metricsTTL)
		}
	}
	a.metrics = m
	if a.Config.MetricsAddr == "" {
		if !runsAPI(a.Role) {
			a.Logger.Info("no /metrics in this role: set BECKON_METRICS_ADDR to serve them", slog.String("role", a.Role))
		}
		return nil
	}
	ln, err := net.Listen("tcp", a.Config.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (metrics): %w", a.Config.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+api.MetricsPath, m.Handler())
	a.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
	a.metricsLn = ln
	a.serveW.Add(1)
	go func() {
		defer a.serveW.Done()
		if err := a.metricsHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Logger.Error("metrics server stopped", slog.String("error", err.Error()))
		}
	}()
	fmt.Fprintf(a.Stdout, "Beckon metrics on http://%s%s\n", ln.Addr(), api.MetricsPath)
	return nil
}

// MetricsAddr is where BECKON_METRICS_ADDR's server listens, once started;
// empty when the metrics are served by the API.
func (a *App) MetricsAddr() string {
	if a.metricsLn == nil {
		return ""
	}
	return a.metricsLn.Addr().String()
}

// apiMetricsHandler is what the API serves at /metrics: the registry,
// unless the metrics have their own address.
func (a *App) apiMetricsHandler() http.Handler {
	if a.metrics == nil || a.Config.MetricsAddr != "" {
		return nil
	}
	return a.metrics.Handler()
}
