package server

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/rpcerr"
)

// Code returns the connect code a client sees for err as a handler or an
// interceptor inside the error mapping returned it (for metrics).
func Code(err error) connect.Code {
	var ce *connect.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		return ce.Code()
	case errors.Is(err, context.Canceled):
		return connect.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return connect.CodeDeadlineExceeded
	}
	return rpcerr.ToConnect(licensor.ErrorCode(err))
}
