package rpcerr

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
)

// Encode returns err as the client is to see it: the connect code of its
// domain code (licensor.ErrorCode: EINTERNAL for an error that is not a
// *licensor.Error), its person-readable message (licensor.ErrorMessage:
// "internal error" for those) and the metadata of SetMeta.
func Encode(err error) *connect.Error {
	code := licensor.ErrorCode(err)
	out := connect.NewError(ToConnect(code), errors.New(licensor.ErrorMessage(err)))
	SetMeta(out.Meta(), code, licensor.RetryAfter(err))
	return out
}

// SetMeta writes the domain code and, when retryAfter is positive, the
// retry hint into h.
func SetMeta(h http.Header, code string, retryAfter time.Duration) {
	h.Set(HeaderErrorCode, code)
	if retryAfter > 0 {
		secs := (retryAfter + time.Second - 1) / time.Second
		h.Set(HeaderRetryAfter, strconv.FormatInt(int64(secs), 10))
		h.Set(HeaderRetryAfterMs, strconv.FormatInt(retryAfter.Milliseconds(), 10))
	}
}

// Decode maps an error returned by a connect client back to a
// *licensor.Error: the domain code (Licensor-Error-Code when it names a
// known code, else FromConnect), the server's message and its retry hint.
// An error that is not a *connect.Error (the network, a closed client) is
// EUNAVAILABLE. Decode(nil) is nil.
func Decode(err error) *licensor.Error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return &licensor.Error{Code: licensor.EUNAVAILABLE, Message: err.Error(), Err: err}
	}
	code := FromConnect(ce.Code())
	if c := ce.Meta().Get(HeaderErrorCode); Known(c) {
		code = c
	}
	return &licensor.Error{Code: code, Message: ce.Message(), RetryAfter: RetryHint(ce.Meta()), Err: err}
}

// RetryHint reads the wait a response asks for: Licensor-Retry-After-Ms,
// else Retry-After in seconds; 0 when neither holds a positive number.
// It reads connect error metadata and HTTP response headers alike.
func RetryHint(h http.Header) time.Duration {
	if v := h.Get(HeaderRetryAfterMs); v != "" {
		if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	if v := h.Get(HeaderRetryAfter); v != "" {
		if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
	}
	return 0
}

// FromServer reports whether err came from a Licensor server (it carries
// Licensor-Error-Code) rather than from the network or something in front
// of the server.
func FromServer(err error) bool {
	var ce *connect.Error
	return errors.As(err, &ce) && ce.Meta().Get(HeaderErrorCode) != ""
}
