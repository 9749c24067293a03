package metrics

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/licensor/licensor/internal/buildinfo"
)

const namespace = "licensor"

// Config wires Metrics.
type Config struct {
	// CodeOf maps an error returned by a handler to the code the client
	// sees (the server's error mapping); default connect.CodeOf, which
	// knows only *connect.Error.
	CodeOf func(error) connect.Code
}

// Metrics holds Licensor's collectors and their registry.
type Metrics struct {
	reg    *prometheus.Registry
	codeOf func(error) connect.Code

	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	issued     *prometheus.CounterVec
	daysLeft   *prometheus.GaugeVec
	alertsOpen *prometheus.GaugeVec
	attempts   *prometheus.CounterVec
	givenUp    *prometheus.CounterVec
	hookDenied *prometheus.CounterVec
	dlvLatency prometheus.Histogram
	refusals   *prometheus.CounterVec
	seats      *prometheus.GaugeVec
	seatsMax   *prometheus.GaugeVec
	pending    *prometheus.GaugeVec
	waited     prometheus.Histogram
	waits      *prometheus.CounterVec

	procedures sync.Map // procedure name → *procedure, for the interceptor
}

// New returns Metrics with every collector registered, plus the Go runtime
// and process collectors.
func New(cfg Config) *Metrics {
	if cfg.CodeOf == nil {
		cfg.CodeOf = connect.CodeOf
	}
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		codeOf: cfg.CodeOf,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "RPCs handled, by service, method and status code (connect code names: ok, invalid_argument, ...).",
		}, []string{"service", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "request_duration_seconds",
			Help:    "Latency of unary RPCs, by service and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"service", "method"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "licenses_issued_total",
			Help: "Signed licenses issued, by how: GetLicense, WatchLicense (each pushed license) or IssueLicenseFile.",
		}, []string{"method"}),
		daysLeft: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "instances_by_license_days_left",
			Help: "Instances of live contracts by days left on their current license (buckets expired, 0-1, 1-7, 7-14, 14-30, 30+), as of the last scan.",
		}, []string{"tenant", "days_left"}),
		alertsOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "alerts_open",
			Help: "Open alert episodes by tenant, type (license.expiring, contract.ending, instance.silent, pool.exhausted, pool.overdraft) and level, as of the last scan.",
		}, []string{"tenant", "type", "level"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_delivery_attempts_total",
			Help: "Webhook delivery attempts by tenant and outcome (success or failure).",
		}, []string{"tenant", "outcome"}),
		givenUp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_deliveries_given_up_total",
			Help: "Webhook deliveries that failed for the whole retry window and were given up, by tenant.",
		}, []string{"tenant"}),
		hookDenied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_destinations_refused_total",
			Help: "Webhook delivery attempts not sent because the webhook policy refused the destination (a private or reserved address, or plain http), by tenant.",
		}, []string{"tenant"}),
		dlvLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "webhook_delivery_duration_seconds",
			Help:    "Latency of webhook delivery attempts.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "threshold_refusals_total",
			Help: "Requests refused because the tenant's concurrency threshold was reached, by tenant.",
		}, []string{"tenant"}),
		seats: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "seats_in_use",
			Help: "Seats held on live contracts by tenant, on contracts with a seat cap (capped) or without (unlimited), as of the last scan.",
		}, []string{"tenant", "seats"}),
		seatsMax: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "seats_max",
			Help: "Sum of the seat caps of a tenant's live contracts that have one, as of the last scan.",
		}, []string{"tenant"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "webhook_deliveries_pending",
			Help: "Webhook deliveries waiting to be sent or retried (the backlog), by tenant, as of the last scan.",
		}, []string{"tenant"}),
		waited: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "threshold_wait_seconds",
			Help:    "Time calls admitted by their tenant's concurrency threshold waited for a slot (queueing; most wait 0).",
			Buckets: []float64{.0001, .001, .01, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		waits: newWaits(),
	}
	bi := buildinfo.Read()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; its labels name the running build (version, commit, Go toolchain).",
		ConstLabels: prometheus.Labels{"version": bi.Version, "commit": bi.Commit, "goversion": bi.GoVersion},
	})
	build.Set(1)
	m.reg.MustRegister(build, m.requests, m.latency, m.issued, m.daysLeft, m.alertsOpen, m.attempts, m.givenUp, m.hookDenied, m.dlvLatency, m.refusals, m.seats, m.seatsMax, m.pending, m.waited, m.waits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, to register further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// TenantScan is what one alert scan saw of a tenant.
type TenantScan struct {
	TenantID string
	// DaysLeft counts the instances of live contracts by days left on
	// their license, keyed by bucket label ("expired", "0-1", ...). Give
	// every bucket, zeros too, so that an emptied bucket drops to zero.
	DaysLeft map[string]int64
	// Open counts open alert episodes by type and level.
	Open map[AlertKind]int
	// SeatsUsed is the seats held on live contracts, SeatsUsedCapped those
	// on contracts with a seat cap, SeatsMax the sum of those caps.
	SeatsUsed, SeatsUsedCapped, SeatsMax int64
	// DeliveriesPending is the webhook deliveries waiting to be sent.
	DeliveriesPending int64
}

// AlertKind is an alert type ("license.expiring", ...) and level ("30d", ...).
type AlertKind struct {
	Type  string
	Level string
}

// TenantScanned records what a scan saw of a tenant.
func (m *Metrics) TenantScanned(s TenantScan) {
	for label, n := range s.DaysLeft {
		m.daysLeft.WithLabelValues(s.TenantID, label).Set(float64(n))
	}
	// Reset the tenant's series so that a cleared alert type drops to zero.
	m.alertsOpen.DeletePartialMatch(prometheus.Labels{"tenant": s.TenantID})
	for k, n := range s.Open {
		m.alertsOpen.WithLabelValues(s.TenantID, k.Type, k.Level).Set(float64(n))
	}
	m.seats.WithLabelValues(s.TenantID, "capped").Set(float64(s.SeatsUsedCapped))
	m.seats.WithLabelValues(s.TenantID, "unlimited").Set(float64(s.SeatsUsed - s.SeatsUsedCapped))
	m.seatsMax.WithLabelValues(s.TenantID).Set(float64(s.SeatsMax))
	m.pending.WithLabelValues(s.TenantID).Set(float64(s.DeliveriesPending))
}

// Delivery is one webhook delivery attempt.
type Delivery struct {
	TenantID string
	OK       bool
	GaveUp   bool // this failure ended the delivery
	Refused  bool // the webhook policy refused the destination; nothing was sent
	Latency  time.Duration
}

// DeliveryAttempted records a webhook delivery attempt.
func (m *Metrics) DeliveryAttempted(a Delivery) {
	outcome := "success"
	if !a.OK {
		outcome = "failure"
	}
	m.attempts.WithLabelValues(a.TenantID, outcome).Inc()
	if a.GaveUp {
		m.givenUp.WithLabelValues(a.TenantID).Inc()
	}
	if a.Refused {
		m.hookDenied.WithLabelValues(a.TenantID).Inc()
	}
	m.dlvLatency.Observe(a.Latency.Seconds())
}

// ThresholdRefused counts a request refused by the tenant's concurrency
// threshold (server.Config.OnRefused).
func (m *Metrics) ThresholdRefused(tenantID string) { m.refusals.WithLabelValues(tenantID).Inc() }

// ThresholdAdmitted records how long a call the threshold admitted waited
// for a slot (server.Config.OnAdmitted). Not by tenant: it runs on every
// contract-token call, and a histogram per tenant would multiply series.
func (m *Metrics) ThresholdAdmitted(_ string, waited time.Duration) {
	m.waited.Observe(waited.Seconds())
}

// PoolLeases is one pool feature's use, for the leases-in-use gauge.
type PoolLeases struct {
	TenantID string
	PoolID   string
	Feature  string
	InUse    int64
	Max      int64
}

// RegisterLeasesInUse registers licensor_pool_leases_in_use and
// licensor_pool_units_max, read at scrape time from list (which must run
// a bounded query; it gets a 5-second deadline).
func (m *Metrics) RegisterLeasesInUse(list func(ctx context.Context) ([]PoolLeases, error)) error {
	return m.reg.Register(&leaseCollector{list: list})
}

var (
	leasesDesc = prometheus.NewDesc(namespace+"_pool_leases_in_use", "Units of a pool feature held by live leases.", []string{"tenant", "pool", "feature"}, nil)
	maxDesc    = prometheus.NewDesc(namespace+"_pool_units_max", "Units a pool feature has.", []string{"tenant", "pool", "feature"}, nil)
)

type leaseCollector struct {
	list func(ctx context.Context) ([]PoolLeases, error)
}

func (c *leaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- leasesDesc; ch <- maxDesc }

func (c *leaseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, err := c.list(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(leasesDesc, err)
		return
	}
	for _, p := range ps {
		ch <- prometheus.MustNewConstMetric(leasesDesc, prometheus.GaugeValue, float64(p.InUse), p.TenantID, p.PoolID, p.Feature)
		ch <- prometheus.MustNewConstMetric(maxDesc, prometheus.GaugeValue, float64(p.Max), p.TenantID, p.PoolID, p.Feature)
	}
}

// splitProcedure turns "/licensor.v1.LicenseService/GetLicense" into its
// service and method.
func splitProcedure(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "unknown", p
}

func (m *Metrics) code(err error) string {
	if err == nil {
		return "ok"
	}
	if errors.Is(err, context.Canceled) {
		return connect.CodeCanceled.String()
	}
	return m.codeOf(err).String()
}
