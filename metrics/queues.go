package metrics

import (
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueInspector reads asynq's queues; *asynq.Inspector implements it.
type QueueInspector interface {
	Queues() ([]string, error)
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
}

// queueStates are the task states whose counts are exported per queue.
var queueStates = []string{"pending", "active", "scheduled", "retry", "archived", "completed", "aggregating"}

var (
	queueTasksDesc = prometheus.NewDesc("beckon_queue_tasks",
		"Tasks in an asynq queue by state.", []string{"queue", "state"}, nil)
	queueOldestDesc = prometheus.NewDesc("beckon_queue_oldest_pending_seconds",
		"Age of the oldest pending task of an asynq queue (0 when none is pending).", []string{"queue"}, nil)
)

// queueCollector reads the queues on scrape, at most once per ttl.
type queueCollector struct {
	m     *Metrics
	insp  QueueInspector
	ttl   time.Duration
	mu    sync.Mutex
	read  time.Time
	infos []asynq.QueueInfo
}

// WatchQueues exports the depth and the oldest pending task of every asynq
// queue, read on scrape and reused for ttl (default 5s).
func (m *Metrics) WatchQueues(insp QueueInspector, ttl time.Duration) {
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	m.reg.MustRegister(&queueCollector{m: m, insp: insp, ttl: ttl})
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueTasksDesc
	ch <- queueOldestDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range c.queues() {
		counts := []int{q.Pending, q.Active, q.Scheduled, q.Retry, q.Archived, q.Completed, q.Aggregating}
		for i, state := range queueStates {
			ch <- prometheus.MustNewConstMetric(queueTasksDesc, prometheus.GaugeValue, float64(counts[i]), q.Queue, state)
		}
		ch <- prometheus.MustNewConstMetric(queueOldestDesc, prometheus.GaugeValue, q.Latency.Seconds(), q.Queue)
	}
}

// queues is what the inspector says, read again once ttl has passed (wall
// time: a scrape interval, not a delivery decision). A failed read is
// logged and leaves the queues out of this scrape.
func (c *queueCollector) queues() []asynq.QueueInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.read.IsZero() && time.Since(c.read) < c.ttl {
		return c.infos
	}
	names, err := c.insp.Queues()
	if err != nil {
		c.m.logger.Warn("cannot list asynq queues", "error", err.Error())
		return nil
	}
	infos := make([]asynq.QueueInfo, 0, len(names))
	for _, n := range names {
		info, err := c.insp.GetQueueInfo(n)
		if err != nil {
			c.m.logger.Warn("cannot read an asynq queue", "queue", n, "error", err.Error())
			return nil
		}
		infos = append(infos, *info)
	}
	c.read, c.infos = time.Now(), infos
	return infos
}
