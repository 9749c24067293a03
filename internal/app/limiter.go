package app

import (
	"context"
	"io"
	"log/slog"

	"github.com/licensor/licensor/ratelimit/redislimit"
	"github.com/licensor/licensor/server"
)

// openLimiter returns the per-tenant concurrency limiter: nil (the
// server's in-process one) without a Redis URL, so that N servers admit
// up to N × a tenant's limit between them; with one, one count shared
// by every server on that Redis, falling back to the in-process limiter
// while Redis is unreachable. The closer, if any, closes the connection.
func openLimiter(ctx context.Context, url string, log *slog.Logger) (server.Limiter, io.Closer, error) {
	if url == "" {
		return nil, nil, nil
	}
	rdb, err := redislimit.Dial(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	return redislimit.New(rdb, redislimit.Options{
		Fallback:   server.NewLocalLimiter(0),
		RetryAfter: server.DefaultRetryAfter,
		Logger:     log,
	}), rdb, nil
}
