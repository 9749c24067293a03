package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// QueueEvent counts what happened to a capability request waiting in a
// pool's queue: joined, granted, timed_out or left.
func (m *Metrics) QueueEvent(event string) { m.waits.WithLabelValues(event).Inc() }

func newWaits() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "capability_waits_total",
		Help: "Capability requests waiting in a pool's queue, by event: joined (started waiting), granted, timed_out (the wait ran out) or left (the caller went away, or the wait failed).",
	}, []string{"event"})
}

// PoolQueue is the length of one pool's queue.
type PoolQueue struct {
	TenantID string
	PoolID   string
	Waiting  int
}

// RegisterQueueLengths registers licensor_pool_queue_length, read at
// scrape time from list (which must run a bounded query; it gets a
// 5-second deadline). Pools with no one waiting are not listed.
func (m *Metrics) RegisterQueueLengths(list func(ctx context.Context) ([]PoolQueue, error)) error {
	return m.reg.Register(&queueCollector{list: list})
}

var queueDesc = prometheus.NewDesc(namespace+"_pool_queue_length", "Capability requests waiting in a pool's queue (pools with none are not listed).", []string{"tenant", "pool"}, nil)

type queueCollector struct {
	list func(ctx context.Context) ([]PoolQueue, error)
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qs, err := c.list(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
	}
	for _, q := range qs {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(q.Waiting), q.TenantID, q.PoolID)
	}
}
