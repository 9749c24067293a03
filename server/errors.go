package server

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
)

// codes is the one table from domain codes to connect codes. The client
// library maps them back with the inverse table.
var codes = map[string]connect.Code{
	licensor.EINVALID:      connect.CodeInvalidArgument,
	licensor.ENOTFOUND:     connect.CodeNotFound,
	licensor.ECONFLICT:     connect.CodeAlreadyExists,
	licensor.EUNAUTHORIZED: connect.CodeUnauthenticated,
	licensor.EFORBIDDEN:    connect.CodePermissionDenied,
	licensor.EEXHAUSTED:    connect.CodeResourceExhausted,
	licensor.EPRECONDITION: connect.CodeFailedPrecondition,
	licensor.EUNAVAILABLE:  connect.CodeUnavailable,
	licensor.EINTERNAL:     connect.CodeInternal,
}

// Metadata keys set on errors: the retry hint is both a standard HTTP header
// (Connect/HTTP clients, curl) and gRPC metadata (grpc clients see it as a
// trailer); the domain code lets a program tell, say, a conflict from
// another ALREADY_EXISTS.
const (
	HeaderRetryAfter   = "Retry-After"
	HeaderRetryAfterMs = "Licensor-Retry-After-Ms"
	HeaderErrorCode    = "Licensor-Error-Code"
)

// toConnect converts any error into a *connect.Error a client may see.
// Internal errors are logged with their detail and sent as "internal error".
func toConnect(ctx context.Context, log *slog.Logger, procedure string, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("deadline exceeded"))
	}
	code := licensor.ErrorCode(err)
	if code == licensor.EINTERNAL {
		log.ErrorContext(ctx, "internal error", "procedure", procedure, "err", err)
	}
	out := connect.NewError(codes[code], errors.New(licensor.ErrorMessage(err)))
	out.Meta().Set(HeaderErrorCode, code)
	if d := licensor.RetryAfter(err); d > 0 {
		secs := int((d + time.Second - 1) / time.Second)
		out.Meta().Set(HeaderRetryAfter, strconv.Itoa(secs))
		out.Meta().Set(HeaderRetryAfterMs, strconv.FormatInt(d.Milliseconds(), 10))
	}
	return out
}

// errorInterceptor turns domain errors returned by handlers into connect
// errors, so handlers simply return what the service returned.
type errorInterceptor struct{ log *slog.Logger }

func (i errorInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		if err != nil {
			return nil, toConnect(ctx, i.log, req.Spec().Procedure, err)
		}
		return res, nil
	}
}

func (i errorInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i errorInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return toConnect(ctx, i.log, conn.Spec().Procedure, next(ctx, conn))
	}
}
