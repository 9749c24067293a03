// Package agentapi is the local HTTP JSON API of `licensor agent`, the
// sidecar for products not written in Go: the license held and its status,
// floating capabilities (preview, checkout, renew, return, the pool's
// features) and telemetry, each a thin layer over one client.Client.
//
// It never talks to the server itself and never re-implements what the
// client does: verification, the cache, offline operation, back-off and
// retries all stay in package client. It validates every input and answers
// every error as {"error": {"code", "message"}} with a code from a fixed
// list (errors.go), so a program in any language can act on it.
//
// It is described by openapi/agent.json, which the agent serves at
// /openapi.json; a test keeps the document and the routes in step. It is
// meant for loopback or a Unix socket only: it has no authentication, so
// Listen refuses any other address.
package agentapi
