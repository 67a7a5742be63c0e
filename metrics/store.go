package metrics

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	dueDesc = prometheus.NewDesc("beckon_sends_due_unqueued",
		"Planned sends due now or earlier that were never handed to asynq.", nil, nil)

	dbMaxOpenDesc = prometheus.NewDesc("beckon_db_max_open_connections", "The database pool's bound on open connections (0: none).", nil, nil)
	dbOpenDesc    = prometheus.NewDesc("beckon_db_open_connections", "Database connections open, in use or idle.", nil, nil)
	dbInUseDesc   = prometheus.NewDesc("beckon_db_in_use_connections", "Database connections in use.", nil, nil)
	dbIdleDesc    = prometheus.NewDesc("beckon_db_idle_connections", "Database connections idle.", nil, nil)
	dbWaitsDesc   = prometheus.NewDesc("beckon_db_wait_count_total", "Times a query waited for a free database connection.", nil, nil)
	dbWaitDesc    = prometheus.NewDesc("beckon_db_wait_duration_seconds_total", "Time spent waiting for a free database connection.", nil, nil)
)

// dbCollector reads the pool's statistics on scrape.
type dbCollector struct{ stats func() sql.DBStats }

// WatchDB exports the database pool's statistics, read on scrape.
func (m *Metrics) WatchDB(stats func() sql.DBStats) {
	m.reg.MustRegister(dbCollector{stats})
}

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbMaxOpenDesc, dbOpenDesc, dbInUseDesc, dbIdleDesc, dbWaitsDesc, dbWaitDesc} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	gauge(dbMaxOpenDesc, float64(s.MaxOpenConnections))
	gauge(dbOpenDesc, float64(s.OpenConnections))
	gauge(dbInUseDesc, float64(s.InUse))
	gauge(dbIdleDesc, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(dbWaitsDesc, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(dbWaitDesc, prometheus.CounterValue, s.WaitDuration.Seconds())
}

// DueCounter counts the planned sends due at or before an instant that
// were never handed to asynq.
type DueCounter func(ctx context.Context, before time.Time) (int, error)

// dueCollector runs the count on scrape, at most once per ttl.
type dueCollector struct {
	m     *Metrics
	count DueCounter
	now   func() time.Time
	ttl   time.Duration
	mu    sync.Mutex
	read  time.Time
	n     int
	ok    bool
}

// WatchDue exports the planned sends due but not yet queued: one count on
// scrape, reused for ttl (default 5s). now is the clock that decides what
// is due (the pump's).
func (m *Metrics) WatchDue(count DueCounter, now func() time.Time, ttl time.Duration) {
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	m.reg.MustRegister(&dueCollector{m: m, count: count, now: now, ttl: ttl})
}

func (c *dueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- dueDesc }

func (c *dueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read.IsZero() || time.Since(c.read) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, err := c.count(ctx, c.now())
		cancel()
		c.read, c.n, c.ok = time.Now(), n, err == nil
		if err != nil {
			c.m.logger.Warn("cannot count the sends due", "error", err.Error())
		}
	}
	if c.ok {
		ch <- prometheus.MustNewConstMetric(dueDesc, prometheus.GaugeValue, float64(c.n))
	}
}
