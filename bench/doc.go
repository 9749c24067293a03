// Package bench is Licensor's fleet simulator: it drives a running server
// (any address, over the real API) with the traffic of a fleet of
// instances — license refreshes, capability request/hold/return cycles,
// web-app checks with telemetry, a surge after an outage — and measures
// throughput and latency with an HDR histogram.
//
// Rate control is open-loop (a target arrival rate; latency counts from the
// intended send time, so a slow server cannot hide its latency by slowing
// the generator down — coordinated omission) or closed-loop (C workers,
// each sending its next call when the last one returns).
//
// It never talks to anything but the server it is given, never starts load
// on its own, and never decides whether a figure is good: it reports.
package bench
