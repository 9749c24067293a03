package client

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/licensor/licensor"
)

// Source says where the license held came from.
type Source string

// Sources of a license.
const (
	SourceServer Source = "server" // fetched by GetLicense
	SourceStream Source = "stream" // pushed on the WatchLicense stream
	SourceCache  Source = "cache"  // loaded from CacheDir at start
	SourceFile   Source = "file"   // the static license file
)

// License is a verified license.
type License struct {
	// Token is the license as signed: a compact JWS any JOSE library verifies.
	Token  string
	Claims *licensor.Claims
	Source Source
}

// State is where the held license stands.
type State int

// States, in the order a license lives through them.
const (
	Unlicensed   State = iota // no valid license has ever been held
	Valid                     // licensed, more than ExpiringSoon left
	ExpiringSoon              // licensed, less than ExpiringSoon left
	Expired                   // the license held has expired
)

func (s State) String() string {
	switch s {
	case Valid:
		return "valid"
	case ExpiringSoon:
		return "expiring_soon"
	case Expired:
		return "expired"
	}
	return "unlicensed"
}

// MarshalText writes the state's name, for JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *State) UnmarshalText(b []byte) error {
	for _, st := range []State{Unlicensed, Valid, ExpiringSoon, Expired} {
		if st.String() == string(b) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("unknown license state %q", b)
}

// Status is a snapshot of the client: the state of the license held, why,
// and how the checks go.
type Status struct {
	State State
	// Reason says, for a person, why the state is not Valid ("" when it is).
	Reason    string
	Remaining time.Duration
	ExpiresAt time.Time
	LicenseID string
	Source    Source
	// Fallback is set when only releases up to FallbackCutoff are licensed.
	Fallback       bool
	FallbackCutoff time.Time
	// LastError is the error of the last check if it failed, else nil.
	LastError   error
	LastSuccess time.Time
	NextAttempt time.Time
}

// Licensed reports whether the product may run: Valid or ExpiringSoon.
func (s Status) Licensed() bool { return s.State == Valid || s.State == ExpiringSoon }

// Err returns nil when licensed and otherwise an error with the reason,
// coded EFORBIDDEN (unlicensed) or EPRECONDITION (expired).
func (s Status) Err() error {
	switch s.State {
	case Valid, ExpiringSoon:
		return nil
	case Expired:
		return &licensor.Error{Code: licensor.EPRECONDITION, Message: s.Reason, Err: s.LastError}
	}
	return &licensor.Error{Code: licensor.EFORBIDDEN, Message: s.Reason, Err: s.LastError}
}

// Status returns the current status. Looking is enough to fire the events
// of a state change the clock has brought.
func (c *Client) Status() Status {
	c.mu.Lock()
	st := c.evaluateLocked()
	c.mu.Unlock()
	c.drain()
	return st
}

// License returns the license held (a valid one if there is one), or nil.
func (c *Client) License() *License {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.currentLocked(c.nowLocked())
	if l == nil {
		return nil
	}
	cp := *l
	cl := *l.Claims
	cl.Features = maps.Clone(l.Claims.Features)
	cp.Claims = &cl
	return &cp
}

// validLicense returns the license held if it is valid now, else nil.
func (c *Client) validLicense() *licensor.Claims {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.nowLocked()
	l := c.currentLocked(now)
	if l == nil || c.guard.tampered || !c.validAt(l, now) {
		return nil
	}
	return l.Claims
}

// Allowed reports whether the valid license held grants feature.
func (c *Client) Allowed(feature string) bool {
	cl := c.validLicense()
	return cl != nil && cl.Allowed(feature)
}

// Count returns the count of feature in the valid license held (1 for an
// enabled boolean feature), 0 without a valid license.
func (c *Client) Count(feature string) int64 {
	cl := c.validLicense()
	if cl == nil {
		return 0
	}
	return cl.Count(feature)
}

// Remaining returns how long the license held stays valid, 0 if none is.
func (c *Client) Remaining() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.nowLocked()
	l := c.currentLocked(now)
	if l == nil || !c.validAt(l, now) {
		return 0
	}
	return max(l.Claims.ExpiresAt().Sub(now), 0)
}

func (c *Client) validAt(l *License, now time.Time) bool {
	return l.Claims.CheckTime(now, c.cfg.ClockSkew) == nil
}

// currentLocked picks the license to use: a valid one from the server or
// cache, else a valid static file, else the expired one to report on.
func (c *Client) currentLocked(now time.Time) *License {
	switch {
	case c.online != nil && c.validAt(c.online, now):
		return c.online
	case c.static != nil && c.validAt(c.static, now):
		return c.static
	case c.online != nil:
		return c.online
	}
	return c.static
}

// evaluateLocked computes the status and queues the events of any change
// since the last evaluation: each fires once per change, never per tick.
func (c *Client) evaluateLocked() Status {
	now := c.nowLocked()
	st := Status{State: Unlicensed, LastError: c.lastErr, LastSuccess: c.lastSuccess, NextAttempt: c.nextAttempt}
	l := c.currentLocked(now)
	switch {
	case c.guard.tampered:
		st.Reason = c.tamperedReasonLocked()
	case l == nil:
		st.Reason = errOffline.Error()
		if c.lastErr != nil {
			st.Reason = "no license yet: " + c.lastErr.Error()
		}
	default:
		cl := l.Claims
		st.ExpiresAt, st.LicenseID, st.Source = cl.ExpiresAt(), cl.ID, l.Source
		st.Fallback = cl.IsFallback()
		if st.Fallback {
			st.FallbackCutoff = time.Unix(cl.FallbackCutoff, 0)
		}
		if err := cl.CheckTime(now, c.cfg.ClockSkew); err != nil {
			st.State = Expired
			if licensor.ErrorCode(err) != licensor.EPRECONDITION {
				st.State = Unlicensed // not valid yet
			}
			st.Reason = licensor.ErrorMessage(err)
			if c.lastErr != nil {
				st.Reason += "; last check: " + c.lastErr.Error()
			}
			break
		}
		st.Remaining = max(cl.ExpiresAt().Sub(now), 0)
		st.State = Valid
		if st.Remaining < c.cfg.ExpiringSoon {
			st.State = ExpiringSoon
			st.Reason = fmt.Sprintf("license expires in %s", st.Remaining.Round(time.Minute))
			if c.lastErr != nil {
				st.Reason += "; last check: " + c.lastErr.Error()
			}
		}
		if key := changeKey(l); key != c.reportedKey {
			c.reportedKey = key
			cp := *l
			c.queue(event{kind: evChange, lic: &cp})
		}
	}
	if st.State != c.state {
		prev := c.state
		c.state = st.State
		switch st.State {
		case ExpiringSoon:
			c.log.Warn("license expiring soon", "remaining", st.Remaining.Round(time.Minute), "expires_at", st.ExpiresAt.UTC().Format(time.RFC3339), "reason", st.Reason)
			c.queue(event{kind: evExpiringSoon, remaining: st.Remaining})
		case Expired:
			c.log.Error("license expired", "expires_at", st.ExpiresAt.UTC().Format(time.RFC3339), "reason", st.Reason)
			c.queue(event{kind: evExpired})
		case Valid:
			if prev != Unlicensed {
				c.log.Info("license valid again", "expires_at", st.ExpiresAt.UTC().Format(time.RFC3339))
			}
		}
	}
	return st
}

// changeKey identifies what a license grants, so that a routine refresh
// (new jti, later exp) is not reported as a change but a new contract
// version, a feature, a fallback, an environment or a switch of source is.
func changeKey(l *License) string {
	cl := l.Claims
	src := "online"
	if l.Source == SourceFile {
		src = "file"
	}
	return fmt.Sprintf("%s|%s|%d|%d|%s|%s|%v", src, cl.Contract, cl.ContractVersion, cl.FallbackCutoff, cl.Kind, cl.Environment, featureKey(cl.Features))
}

func featureKey(f map[string]any) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	// a sorted rendering: map order must not look like a change
	slices.Sort(keys)
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf("%s=%v;", k, f[k])
	}
	return s
}
