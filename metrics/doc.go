// Package metrics exposes Licensor's Prometheus metrics: requests and their
// latency (a connect interceptor), licenses issued, instances by days of
// license left and open alerts (TenantScanned, after each alert scan),
// webhook delivery attempts (DeliveryAttempted), threshold refusals
// (ThresholdRefused) and leases in use (RegisterLeasesInUse, read at
// scrape time).
//
// It takes plain values of its own (TenantScan, Delivery, PoolLeases) and
// imports no other Licensor package: internal/app feeds it from the alert
// scanner, the webhook dispatcher, the limiter and the pools. It owns its
// registry — no global state — and must never do store work on a request
// path or at scrape time beyond a registered callback's bounded query.
package metrics
