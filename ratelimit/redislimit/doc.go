// Package redislimit is the cluster-wide per-tenant concurrency threshold:
// a limiter (the shape of server.Limiter) whose in-flight count lives in
// Redis, so that N servers behind one address admit at most limit requests
// of a tenant at once between them, not N × limit.
//
// Each tenant has a sorted set of slots scored by their expiry. A Lua script
// (atomic on the Redis server, timed by the Redis server's clock so that the
// servers' clocks need not agree) drops expired slots, admits the request
// only if fewer than limit remain, and adds its slot. Release removes the
// slot; a slot held longer than half its lifetime is extended. A server
// that crashes stops extending its slots, so they expire within SlotTTL:
// a crash leaks no capacity for longer than that.
//
// When Redis cannot be reached the limiter falls back to the Fallback
// limiter (serve wires the in-process one: each server then enforces the
// limit on its own, so up to N × limit in flight) rather than refusing
// every request because a side component is down.
//
// This package must never decide who a tenant is or what its limit is:
// the caller passes both.
package redislimit
