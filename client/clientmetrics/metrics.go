// Package clientmetrics exposes a Licensor client's license as Prometheus
// metrics. It is a separate package so that products that do not use
// Prometheus do not import it.
package clientmetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/licensor/licensor/client"
)

// Collector reports, for one client, the seconds of validity left on the
// license held, whether the product is licensed, and how many keys the
// vendor's JWKS holds that the client does not pin (alert on it: those
// keys will sign licenses this build refuses; see client.OnUnpinnedKeys). Values are read from
// the client at scrape time: no goroutine, no network.
type Collector struct {
	c         *client.Client
	remaining *prometheus.Desc
	licensed  *prometheus.Desc
	state     *prometheus.Desc
	unpinned  *prometheus.Desc
	labels    []string
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector for c, labelled with its contract id, ready for
// prometheus.Registerer.Register.
func New(c *client.Client) *Collector {
	return &Collector{
		c: c,
		remaining: prometheus.NewDesc("licensor_client_license_remaining_seconds",
			"Seconds of validity left on the license held; 0 when none is valid.", []string{"contract"}, nil),
		licensed: prometheus.NewDesc("licensor_client_licensed",
			"1 when the product holds a valid license, else 0.", []string{"contract"}, nil),
		state: prometheus.NewDesc("licensor_client_license_state",
			"1 for the current state of the license (valid, expiring_soon, expired, unlicensed).", []string{"contract", "state"}, nil),
		unpinned: prometheus.NewDesc("licensor_client_unpinned_keys",
			"Keys in the vendor's JWKS that the client does not pin, at the last check; above 0, ship the new keys before they sign.", []string{"contract"}, nil),
		labels: []string{c.ContractID()},
	}
}

// Describe implements prometheus.Collector.
func (m *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.remaining
	ch <- m.licensed
	ch <- m.state
	ch <- m.unpinned
}

// Collect implements prometheus.Collector.
func (m *Collector) Collect(ch chan<- prometheus.Metric) {
	st := m.c.Status()
	ch <- prometheus.MustNewConstMetric(m.remaining, prometheus.GaugeValue, st.Remaining.Seconds(), m.labels...)
	ch <- prometheus.MustNewConstMetric(m.unpinned, prometheus.GaugeValue, float64(len(m.c.UnpinnedKeys())), m.labels...)
	lic := 0.0
	if st.Licensed() {
		lic = 1
	}
	ch <- prometheus.MustNewConstMetric(m.licensed, prometheus.GaugeValue, lic, m.labels...)
	for _, s := range []client.State{client.Valid, client.ExpiringSoon, client.Expired, client.Unlicensed} {
		v := 0.0
		if s == st.State {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(m.state, prometheus.GaugeValue, v, m.labels[0], s.String())
	}
}
