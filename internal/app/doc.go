// Package app assembles the whole Licensor server from a Config: the sign
// workers, the service, the metrics, the per-tenant limiter (in-process, or
// shared through Redis), the connect handlers and HTTP mux (package
// server), the alert scanner and webhook dispatcher (package notify), the
// lease reaper and the telemetry pruner, and the listeners (the TLS API,
// the optional metrics and pprof ones).
//
// It is the one place that wires these parts: `licensor serve` maps its
// flags onto a Config, and internal/testserver builds its in-process
// server with the same New, so the tests run what production runs. The
// adapters between parts that must not import each other (the service's
// pool use to the scanner and the metrics, the scanner's and dispatcher's
// reports to the metrics) are here too.
//
// Life cycle: New builds everything and starts only the sign workers;
// Start listens and starts the background work; Close stops it all in
// order (API first, so no request is left to sign; the store last) and
// closes the store. From New on, the App owns Config.Store.
//
// A new limit or setting is one field of Config (its zero value the
// default) and one flag of serve that sets it.
package app
