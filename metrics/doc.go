// Package metrics exposes Licensor's Prometheus metrics: requests and their
// latency (a connect interceptor), licenses issued, instances by days of
// license left and open alerts (fed by the notify scanner), webhook
// delivery attempts (fed by the dispatcher), threshold refusals and leases
// in use (fed by the limiter and the pools through the Observe*/Register*
// functions). It owns its registry — no global state — and must never do
// store work on a request path or at scrape time beyond a registered
// callback's bounded query.
package metrics
