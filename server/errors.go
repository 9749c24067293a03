package server

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/rpcerr"
)

// toConnect converts any error into a *connect.Error a client may see, by
// the wire contract of package rpcerr (code table, error-code and retry
// metadata). Internal errors are logged with their detail and sent as
// "internal error".
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
	if licensor.ErrorCode(err) == licensor.EINTERNAL {
		log.ErrorContext(ctx, "internal error", "procedure", procedure, "err", err)
	}
	return rpcerr.Encode(err)
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
