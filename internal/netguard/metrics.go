package netguard

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the guards refuse or cut. A nil *Metrics counts
// nothing.
type Metrics struct {
	open            prometheus.Gauge
	refusedConns    *prometheus.CounterVec
	unauthIdle      prometheus.Counter
	bodyDeadline    prometheus.Counter
	bodyTooLarge    prometheus.Counter
	unauthenticated prometheus.Counter
	watchRefused    prometheus.Counter
	badPreface      prometheus.Counter
}

// NewMetrics registers the guards' collectors with reg. The Metrics
// returned counts even when registering failed.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "licensor_connections_open", Help: "Client connections open on the API port.",
		}),
		refusedConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "licensor_connections_refused_total",
			Help: "Client connections closed at accept for being over a cap: total, per_addr (one client address), unauth_per_addr (one address's connections not yet authenticated), unauth (all of those).",
		}, []string{"reason"}),
		unauthIdle: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "licensor_connections_unauthenticated_idle_closed_total",
			Help: "Connections closed for staying idle without ever carrying an authenticated request.",
		}),
		bodyDeadline: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "licensor_request_body_deadline_total",
			Help: "Requests whose body did not arrive within the body timeout.",
		}),
		bodyTooLarge: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "licensor_request_body_too_large_total",
			Help: "Requests refused for a body (sent or inflated) over the size limit.",
		}),
		unauthenticated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "licensor_requests_unauthenticated_total",
			Help: "API requests refused for a missing or invalid token before their body was read.",
		}),
		watchRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "licensor_watch_streams_refused_total",
			Help: "WatchLicense streams refused for being over their contract's bound on open streams.",
		}),
		badPreface: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "licensor_connections_bad_preface_total",
			Help: "HTTP/2 connections closed before their first request: a malformed, oversized or late preface or first request headers.",
		}),
	}
	for _, r := range []string{ReasonTotal, ReasonPerAddr, ReasonUnauthPerAdr, ReasonUnauth} {
		m.refusedConns.WithLabelValues(r)
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.open, m.refusedConns, m.unauthIdle, m.bodyDeadline, m.bodyTooLarge, m.unauthenticated, m.watchRefused, m.badPreface} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}

func (m *Metrics) opened() {
	if m != nil {
		m.open.Inc()
	}
}

func (m *Metrics) closed() {
	if m != nil {
		m.open.Dec()
	}
}

func (m *Metrics) refused(reason string) {
	if m != nil {
		m.refusedConns.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) unauthIdleClosed() {
	if m != nil {
		m.unauthIdle.Inc()
	}
}

// BodyDeadline counts a body cut by the body timeout.
func (m *Metrics) BodyDeadline() {
	if m != nil {
		m.bodyDeadline.Inc()
	}
}

// BodyTooLarge counts a body refused for its size.
func (m *Metrics) BodyTooLarge() {
	if m != nil {
		m.bodyTooLarge.Inc()
	}
}

// Unauthenticated counts a request refused before its body for its token.
func (m *Metrics) Unauthenticated() {
	if m != nil {
		m.unauthenticated.Inc()
	}
}

// WatchRefused counts a WatchLicense stream refused by its contract's bound.
func (m *Metrics) WatchRefused() {
	if m != nil {
		m.watchRefused.Inc()
	}
}

// BadPreface counts an HTTP/2 connection closed before its first request.
func (m *Metrics) BadPreface() {
	if m != nil {
		m.badPreface.Inc()
	}
}
