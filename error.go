package licensor

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to exactly one connect/gRPC code in the server and
// back again in the client, so a program can act on it.
const (
	EINVALID      = "invalid"             // INVALID_ARGUMENT: the request is wrong; fix it, do not retry.
	ENOTFOUND     = "not_found"           // NOT_FOUND: no such object in the caller's tenant.
	ECONFLICT     = "conflict"            // ALREADY_EXISTS / ABORTED: a duplicate or a lost race; re-read and retry.
	EUNAUTHORIZED = "unauthenticated"     // UNAUTHENTICATED: no token, unknown token or revoked token.
	EFORBIDDEN    = "permission_denied"   // PERMISSION_DENIED: the token may not do this (or the contract is ended).
	EEXHAUSTED    = "exhausted"           // RESOURCE_EXHAUSTED: seats or the concurrency threshold; see RetryAfter.
	EPRECONDITION = "failed_precondition" // FAILED_PRECONDITION: the object is not in a state that allows this.
	EUNAVAILABLE  = "unavailable"         // UNAVAILABLE: transient; retry with back-off.
	EINTERNAL     = "internal"            // INTERNAL: a bug or an outage; details are logged, never sent.
)

// Error is the one error type of the domain. Message is written for a person
// and is sent to clients; Err (the cause) is logged and never sent.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when set on an EEXHAUSTED or EUNAVAILABLE error, is how long
	// the caller should wait before trying again.
	RetryAfter time.Duration
	// Err is the underlying cause, kept for logs and errors.Is; never sent.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Code == EINTERNAL {
		return fmt.Sprintf("licensor %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("licensor %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected cause as an EINTERNAL error. The message that
// reaches clients is generic; the cause goes to the logs.
func Internal(op string, err error) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not
// *Error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the person-readable message of err; "internal error"
// for errors that are not *Error so that internals never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// RetryAfter returns the retry hint carried by err, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
