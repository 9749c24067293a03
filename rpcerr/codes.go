package rpcerr

import (
	"connectrpc.com/connect"

	"github.com/licensor/licensor"
)

// Metadata set on every error the server sends (see the package comment).
const (
	HeaderErrorCode    = "Licensor-Error-Code"
	HeaderRetryAfter   = "Retry-After"
	HeaderRetryAfterMs = "Licensor-Retry-After-Ms"
)

// table is the one mapping between domain codes and connect codes, each
// domain code to exactly one connect code.
var table = [...]struct {
	domain string
	code   connect.Code
}{
	{licensor.EINVALID, connect.CodeInvalidArgument},
	{licensor.ENOTFOUND, connect.CodeNotFound},
	{licensor.ECONFLICT, connect.CodeAlreadyExists},
	{licensor.EUNAUTHORIZED, connect.CodeUnauthenticated},
	{licensor.EFORBIDDEN, connect.CodePermissionDenied},
	{licensor.EEXHAUSTED, connect.CodeResourceExhausted},
	{licensor.EPRECONDITION, connect.CodeFailedPrecondition},
	{licensor.EUNAVAILABLE, connect.CodeUnavailable},
	{licensor.EINTERNAL, connect.CodeInternal},
}

// fromOthers maps the connect codes no domain code is sent as, which a
// client still meets (from a proxy, another gRPC server, the transport):
// ABORTED is a lost race, DEADLINE_EXCEEDED, UNKNOWN and CANCELED are
// transient failures.
var fromOthers = map[connect.Code]string{
	connect.CodeAborted:          licensor.ECONFLICT,
	connect.CodeDeadlineExceeded: licensor.EUNAVAILABLE,
	connect.CodeUnknown:          licensor.EUNAVAILABLE,
	connect.CodeCanceled:         licensor.EUNAVAILABLE,
}

// Codes returns every domain code the server sends, in table order.
func Codes() []string {
	out := make([]string, len(table))
	for i, e := range table {
		out[i] = e.domain
	}
	return out
}

// Known reports whether code is a domain code of the table, so that a
// client trusts Licensor-Error-Code only when it names one.
func Known(code string) bool {
	for _, e := range table {
		if e.domain == code {
			return true
		}
	}
	return false
}

// ToConnect returns the connect code the domain code is sent as. A code
// not in the table is a bug on the server's side, sent as INTERNAL.
func ToConnect(code string) connect.Code {
	for _, e := range table {
		if e.domain == code {
			return e.code
		}
	}
	return connect.CodeInternal
}

// FromConnect returns the domain code a connect code stands for: the
// inverse of ToConnect, plus the codes of fromOthers; any other code is
// EINTERNAL.
func FromConnect(c connect.Code) string {
	for _, e := range table {
		if e.code == c {
			return e.domain
		}
	}
	if d, ok := fromOthers[c]; ok {
		return d
	}
	return licensor.EINTERNAL
}
