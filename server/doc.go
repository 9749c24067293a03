// Package server serves Licensor's API with connect-go on one port: gRPC,
// gRPC-Web and Connect (JSON over HTTP/1.1) for every call, plus gRPC
// reflection and health, the tenants' JWKS, /healthz and /readyz.
//
// It authenticates bearer tokens, maps domain errors to status codes and
// metadata (errors.go, by the wire contract of package rpcerr, which the
// client reads back with), and translates protobuf to domain types and
// back. It holds no business rules: those are in service/. It must never
// send an internal error's detail to a client. internal/app assembles it
// with the service, the limiter and the metrics.
package server
