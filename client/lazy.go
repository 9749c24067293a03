package client

import (
	"context"
	"net/http"
)

// Check is the lazy mode for request-driven applications. The first call
// loads the cache and, without a valid license, fetches one (waiting at most
// Config.Timeout or until ctx ends); it then starts a background check every
// 6 hours (Config.RefreshInterval overrides). Once a valid license is held
// Check returns at once and never touches the network.
//
// Without a valid license, Check returns the reason (licensor.ErrorCode is
// EFORBIDDEN, or EPRECONDITION when the license expired); while the server
// is failing it answers from the last failure until the next retry is due,
// so a busy application cannot drive a tight loop of calls.
func (c *Client) Check(ctx context.Context) error {
	c.init(ctx)
	c.startLoop(context.Background(), true)
	st := c.Status()
	if st.Licensed() {
		return nil
	}
	c.mu.Lock()
	due := c.rpc != nil && (c.flight != nil || !c.nowLocked().Before(c.nextAttempt))
	c.mu.Unlock()
	if due {
		if err := c.Refresh(ctx); err != nil && ctx.Err() != nil {
			return err
		}
		st = c.Status()
	}
	return st.Err()
}

type statusKey struct{}

// Middleware checks the license on the first request and then on the lazy
// cadence (see Check), and puts the Status in the request's context
// (StatusFromContext). It never refuses a request and never breaks the
// application's request path: deciding what an unlicensed product does is
// the application's part. Once a valid license is held it adds no wait.
func (c *Client) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = c.Check(r.Context())
		st := c.Status()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), statusKey{}, st)))
	})
}

// StatusFromContext returns the Status that Middleware put in ctx.
func StatusFromContext(ctx context.Context) (Status, bool) {
	st, ok := ctx.Value(statusKey{}).(Status)
	return st, ok
}
