package client

import (
	"fmt"
	"time"
)

// DefaultClockRollbackTolerance is Config.ClockRollbackTolerance's default.
const DefaultClockRollbackTolerance = 24 * time.Hour

// The clock guard. The client's clock is Config.Now, but never earlier than
// the newest server time seen (the server_time of every answer, persisted
// in the cache, and the signed iat of every license held), so that winding
// the clock back does not revive an expired license.
//
// A clock behind the newest *signed* time — the iat of the license held
// from the server or the cache, or of the license file — is judged, because
// only signed times cannot be forged by editing the cache:
//   - within ClockSkew: nothing (clocks differ a little);
//   - up to ClockRollbackTolerance: warned once (log and OnClockRollback
//     with refused false), and the client runs on the guarded clock;
//   - further: taken as tampered. OnClockRollback fires with refused true,
//     and the status is Unlicensed, saying by how much the clock is behind,
//     until the clock is corrected (or Config.Now catches up).
//
// The unsigned server_time only raises the guarded clock, never refuses.

// clockGuard is what the guard last judged of the clock.
type clockGuard struct {
	behind   time.Duration // how far the clock is behind the newest signed time
	tampered bool          // behind is past ClockRollbackTolerance: refuse
}

// OnClockRollback registers f to be called when the system clock is found
// behind the newest signed time seen by more than ClockSkew (refused false:
// warned, running on the guarded clock) and again when it is behind by more
// than ClockRollbackTolerance (refused true: unlicensed until corrected).
// Each fires once per episode: a clock corrected and wound back again fires
// again.
func (c *Client) OnClockRollback(f func(behind time.Duration, refused bool)) {
	c.mu.Lock()
	c.handlers.rollback = append(c.handlers.rollback, f)
	c.mu.Unlock()
}

// nowLocked is the client's clock: Config.Now, but never earlier than the
// newest server time seen. It judges a rollback against the newest signed
// time and queues its events; c.mu is held.
func (c *Client) nowLocked() time.Time {
	now := c.cfg.Now()
	c.judgeClockLocked(now)
	if now.Before(c.serverHigh.Add(-c.cfg.ClockSkew)) {
		if !c.rollback {
			c.rollback = true
			c.log.Warn("the system clock is earlier than the newest server time seen; using the server time",
				"system_time", now.UTC().Format(time.RFC3339), "server_time", c.serverHigh.UTC().Format(time.RFC3339))
		}
		return c.serverHigh
	}
	c.rollback = false
	if now.Before(c.serverHigh) {
		return c.serverHigh
	}
	return now
}

// signedHighLocked is the newest signed time held: the latest iat of the
// license from the server (or cache) and of the license file.
func (c *Client) signedHighLocked() time.Time {
	var t time.Time
	for _, l := range []*License{c.online, c.static} {
		if l != nil {
			if iat := l.Claims.IssuedAtTime(); iat.After(t) {
				t = iat
			}
		}
	}
	return t
}

// judgeClockLocked updates how far now is behind the newest signed time
// and queues OnClockRollback on entering the warned or the refused range.
func (c *Client) judgeClockLocked(now time.Time) {
	high := c.signedHighLocked()
	behind := time.Duration(0)
	if !high.IsZero() {
		behind = high.Sub(now)
	}
	warned := c.guard.behind > c.cfg.ClockSkew
	if behind <= c.cfg.ClockSkew {
		c.guard.behind, c.guard.tampered = 0, false
		return
	}
	c.guard.behind = behind
	refused := behind > c.cfg.ClockRollbackTolerance
	if !warned || (refused && !c.guard.tampered) {
		c.queue(event{kind: evClockRollback, remaining: behind, refused: refused})
		if refused {
			c.log.Error("the system clock is behind a signed license time by more than the tolerance; refusing until it is corrected",
				"behind", behind.Round(time.Second).String(), "tolerance", c.cfg.ClockRollbackTolerance.String())
		} else {
			c.log.Warn("the system clock is behind a signed license time; running on the newest server time",
				"behind", behind.Round(time.Second).String())
		}
	}
	c.guard.tampered = refused
}

// tamperedReasonLocked is the status reason while the clock is refused.
func (c *Client) tamperedReasonLocked() string {
	return fmt.Sprintf("the system clock (%s) is %s behind a license signed at %s, more than the %s tolerated: it was wound back; correct the clock",
		c.cfg.Now().UTC().Format(time.RFC3339), c.guard.behind.Round(time.Second), c.signedHighLocked().UTC().Format(time.RFC3339),
		c.cfg.ClockRollbackTolerance)
}
