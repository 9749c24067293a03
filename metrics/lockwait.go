package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LockWait is what a server's batched transactions waited for one kind of
// lock ("pool" or "contract") since it started.
type LockWait struct {
	Kind         string
	Transactions uint64
	Waited       time.Duration
}

// RegisterLockWaits registers licensor_store_lock_transactions_total and
// licensor_store_lock_wait_seconds_total, read at scrape time from read
// (which must not block). Their ratio is the mean wait of a pool's
// grants and returns, or of a contract's new instances, for the lock that
// other transactions held: near zero while one server serves each busy
// pool, growing when several do.
func (m *Metrics) RegisterLockWaits(read func() []LockWait) error {
	return m.reg.Register(&lockWaitCollector{read: read})
}

var (
	lockTxDesc = prometheus.NewDesc(namespace+"_store_lock_transactions_total",
		"Batched transactions that took a pool's lock (grants and returns) or a contract's row lock (new instances), by lock.", []string{"lock"}, nil)
	lockWaitDesc = prometheus.NewDesc(namespace+"_store_lock_wait_seconds_total",
		"Time those transactions waited for their lock, held by other transactions (most often another server's), by lock.", []string{"lock"}, nil)
)

type lockWaitCollector struct {
	read func() []LockWait
}

func (c *lockWaitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lockTxDesc
	ch <- lockWaitDesc
}

func (c *lockWaitCollector) Collect(ch chan<- prometheus.Metric) {
	for _, w := range c.read() {
		ch <- prometheus.MustNewConstMetric(lockTxDesc, prometheus.CounterValue, float64(w.Transactions), w.Kind)
		ch <- prometheus.MustNewConstMetric(lockWaitDesc, prometheus.CounterValue, w.Waited.Seconds(), w.Kind)
	}
}
