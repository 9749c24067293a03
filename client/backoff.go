package client

import "time"

// backoff is the wait before retry number n (1 for the first retry):
// exponential from MinBackoff, capped at MaxBackoff, with full jitter, and
// never below MinBackoff so that it cannot become a tight loop. A retry hint
// from the server (RESOURCE_EXHAUSTED, UNAVAILABLE) is a floor: the client
// waits at least that long (capped at MaxRetryHint), plus up to a tenth more
// so that every client told to wait does not come back at the same instant.
func (c *Client) backoff(n int, hint time.Duration) time.Duration {
	ceil := c.cfg.MaxBackoff
	if n < 1 {
		n = 1
	}
	if n <= 32 {
		if d := c.cfg.MinBackoff << (n - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	d := time.Duration(c.cfg.Rand() * float64(ceil))
	d = max(d, c.cfg.MinBackoff)
	if hint > 0 {
		hint = min(hint, MaxRetryHint)
		if floor := hint + time.Duration(c.cfg.Rand()*float64(hint/10)); d < floor {
			d = floor
		}
	}
	return d
}

// jitter spreads a refresh interval by ±10%, so that a fleet started
// together does not refresh together.
func (c *Client) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*c.cfg.Rand()))
}
