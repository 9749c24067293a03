// Package rpcerr is Licensor's error contract on the wire: how an error
// with a domain code (licensor.EINVALID, licensor.EEXHAUSTED, ...) travels
// as a connect/gRPC status plus metadata, and how a client reads it back.
//
// The server encodes with it (Encode, ToConnect), the client library and
// the load generator decode with it (Decode, FromConnect, RetryHint), so
// the two directions are one table and cannot drift apart. It imports the
// domain and connect only: programs that embed the client link it.
//
// On the wire an error carries:
//
//   - the connect code of its domain code (the table in codes.go);
//   - the message meant for a person (never an internal detail);
//   - Licensor-Error-Code, the domain code itself, so that a program can
//     tell a conflict from another ALREADY_EXISTS;
//   - with a retry hint, Retry-After in whole seconds (rounded up: what
//     HTTP clients and proxies understand) and Licensor-Retry-After-Ms,
//     the exact hint. Both are HTTP headers on the Connect protocol and
//     metadata (trailers) on gRPC.
package rpcerr
