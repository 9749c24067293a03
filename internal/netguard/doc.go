// Package netguard bounds what a client can hold open on the API port: a
// listener that caps connections (in total and per client address) and
// closes those that never authenticate once idle, and the counters of what
// the guards refused.
package netguard
