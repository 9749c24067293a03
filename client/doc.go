// Package client is the Go library a vendor embeds in its product to hold a
// verified, fresh Licensor license.
//
// A Client fetches a signed license from the Licensor server, verifies it
// offline against the vendor's public keys (pinned at build time, or fetched
// as a JWKS and cached), keeps it in a cache directory, and refreshes it on
// schedule. Between refreshes, and for the license's whole validity when the
// server is unreachable, the product reads the license from memory: no call
// the product makes ever waits on the network once a valid license is held.
//
// Two ways to run it:
//
//   - Start(ctx): for services. Loads the cache (zero wait at start-up when it
//     holds a valid license), fetches a fresh license, then refreshes every
//     refresh_after (2 hours by default) with ±10% jitter; on failure it retries
//     with bounded exponential back-off and full jitter, honouring the server's
//     retry hint. With Config.Watch it also holds a WatchLicense stream so a
//     contract change arrives at once.
//   - Check(ctx) or Middleware: for request-driven applications. The first
//     check fetches (bounded by Config.Timeout), then a background goroutine
//     checks every 6 hours; a check never waits once a valid license is held.
//
// What this package must never do:
//
//   - accept a license it cannot verify: the signature must check out against
//     a known key, alg must be EdDSA, sub must be this instance and contract
//     this contract, and nbf/exp must hold against a clock that is never
//     earlier than the newest server time seen;
//   - accept a license bound to an instance key (from an offline request,
//     see CreateOfflineRequest) on another machine or without that key;
//   - trust a clock wound back past a signed license time by more than
//     Config.ClockRollbackTolerance (it warns below that, and refuses above);
//   - take the product down, or hang it, because the server is slow or down:
//     every network call is bounded by Config.Timeout and runs off the
//     product's request path once a license is held;
//   - keep package-level state: two clients for two vendors work side by side;
//   - retry in a tight loop: every retry waits at least Config.MinBackoff.
//
// Errors carry a licensor error code (licensor.ErrorCode works on them) and,
// for network failures, the stage that failed (see Stage).
package client
