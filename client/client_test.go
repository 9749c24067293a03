package client

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

const day = 24 * time.Hour

// TestStart: a client fetches, verifies and caches a license over each
// protocol, and reads it without the network.
func TestStart(t *testing.T) {
	for _, p := range []Protocol{GRPC, Connect} {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, testserver.FixtureOptions{})
			dir := t.TempDir()
			cfg := e.config(t, "node-1", dir)
			cfg.Protocol = p
			c := newClient(t, cfg)
			ev := record(c)
			if err := c.Start(context.Background()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			st := c.Status()
			if st.State != Valid || st.Source != SourceServer {
				t.Fatalf("status: got %v from %q (%s), want valid from server", st.State, st.Source, st.Reason)
			}
			if got, want := c.Remaining(), 14*day; got != want {
				t.Errorf("Remaining: got %v, want %v", got, want)
			}
			if !c.Allowed("reporting") || c.Allowed("nope") || c.Count("solver") != 50 {
				t.Errorf("features: reporting=%v nope=%v solver=%d, want true false 50", c.Allowed("reporting"), c.Allowed("nope"), c.Count("solver"))
			}
			l := waitFor(t, ev.change, "OnChange")
			if l.Claims.Subject != "node-1" || l.Claims.Contract != e.f.ContractID {
				t.Errorf("OnChange license: got sub %q contract %q", l.Claims.Subject, l.Claims.Contract)
			}
			if _, err := license.Verify(c.License().Token, e.keys, license.VerifyOptions{Now: e.clock.Now()}); err != nil {
				t.Errorf("License().Token does not verify on its own: %v", err)
			}
			b, err := os.ReadFile(c.cachePath())
			if err != nil || !strings.Contains(string(b), c.License().Token) {
				t.Errorf("cache: got %v, want the token in %s", err, c.cachePath())
			}
		})
	}
}

// TestServerDown walks through an outage with a fake clock: the product
// runs on its cached license, is warned once, expires, and recovers within
// one retry when the server is back.
func TestServerDown(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{})
	dir := t.TempDir()
	first := newClient(t, e.config(t, "node-1", dir))
	if err := first.Start(context.Background()); err != nil {
		t.Fatalf("first start: %v", err)
	}
	first.Close()
	e.gate.Down()

	c := newClient(t, e.config(t, "node-1", dir))
	ev := record(c)

	t.Run("DownAtStartWithCache", func(t *testing.T) {
		if err := c.Start(context.Background()); err != nil {
			t.Fatalf("Start: got %v, want nil (valid cache)", err)
		}
		if st := c.Status(); st.State != Valid || st.Source != SourceCache {
			t.Fatalf("got %v from %q, want valid from cache", st.State, st.Source)
		}
		e.clock.nextWait(t) // the background fetch failed and the loop sleeps
		err := waitFor(t, ev.errs, "OnError")
		if StageOf(err) != StageTCP || licensor.ErrorCode(err) != licensor.EUNAVAILABLE {
			t.Errorf("error: got stage %q code %q (%v), want tcp unavailable", StageOf(err), licensor.ErrorCode(err), err)
		}
	})
	t.Run("Down3Days", func(t *testing.T) {
		e.clock.step(t, 3*day)
		if st := c.Status(); st.State != Valid || !c.Allowed("solver") {
			t.Fatalf("got %v (%s), want valid", st.State, st.Reason)
		}
		if len(ev.soon) != 0 {
			t.Errorf("OnExpiringSoon fired with 11 days left")
		}
	})
	t.Run("Down8DaysExpiringSoonOnce", func(t *testing.T) {
		e.clock.step(t, 5*day)
		rem := waitFor(t, ev.soon, "OnExpiringSoon")
		if rem > 6*day || rem < 5*day {
			t.Errorf("remaining: got %v, want about 6 days", rem)
		}
		for range 3 {
			e.clock.step(t, time.Hour) // more failed retries, same state
		}
		if n := len(ev.soon); n != 0 {
			t.Errorf("OnExpiringSoon fired %d more times, want once", n)
		}
		if len(ev.errs) != 0 {
			t.Errorf("OnError fired again for the same failure")
		}
		if st := c.Status(); st.State != ExpiringSoon || !st.Licensed() {
			t.Errorf("got %v, want expiring_soon and licensed", st.State)
		}
		if !strings.Contains(e.logs.String(), "license expiring soon") {
			t.Errorf("no expiring-soon warning in the log")
		}
	})
	t.Run("Down15DaysExpired", func(t *testing.T) {
		e.clock.step(t, 7*day)
		waitFor(t, ev.expired, "OnExpired")
		st := c.Status()
		if st.State != Expired || st.Licensed() || c.Allowed("solver") || c.Remaining() != 0 {
			t.Fatalf("got %v licensed=%v, want expired", st.State, st.Licensed())
		}
		if licensor.ErrorCode(st.Err()) != licensor.EPRECONDITION {
			t.Errorf("Err code: got %q, want %q", licensor.ErrorCode(st.Err()), licensor.EPRECONDITION)
		}
		e.clock.step(t, time.Hour)
		if len(ev.expired) != 0 {
			t.Errorf("OnExpired fired again")
		}
	})
	t.Run("BackWithinOneRetry", func(t *testing.T) {
		e.gate.Up(t)
		e.clock.drainWaits()
		e.clock.Advance(DefaultMaxBackoff + 2*time.Minute) // the pending retry is due, and only it
		e.clock.nextWait(t)
		if st := c.Status(); st.State != Valid || st.Source != SourceServer {
			t.Fatalf("got %v from %q (%s), want valid from server after one retry", st.State, st.Source, st.Reason)
		}
		if got := c.Remaining(); got != 14*day {
			t.Errorf("Remaining: got %v, want 14 days", got)
		}
	})
}

// TestTwoClients: two vendors' clients in one process keep apart.
func TestTwoClients(t *testing.T) {
	a := newEnv(t, testserver.FixtureOptions{})
	b := newEnv(t, testserver.FixtureOptions{})
	ca := newClient(t, a.config(t, "node-1", t.TempDir()))
	cb := newClient(t, b.config(t, "node-1", t.TempDir()))
	for _, c := range []*Client{ca, cb} {
		if err := c.Start(context.Background()); err != nil {
			t.Fatalf("Start: %v", err)
		}
	}
	if ca.License().Claims.Issuer != a.f.TenantID || cb.License().Claims.Issuer != b.f.TenantID {
		t.Errorf("issuers: got %q and %q, want %q and %q", ca.License().Claims.Issuer, cb.License().Claims.Issuer, a.f.TenantID, b.f.TenantID)
	}
	if _, err := license.Verify(cb.License().Token, a.keys, license.VerifyOptions{}); err == nil {
		t.Errorf("vendor B's license verifies with vendor A's keys")
	}
}

// TestNoServerNoLicense: nothing reachable and nothing cached is
// unlicensed, with a reason and an error naming the stage.
func TestNoServerNoLicense(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{})
	e.gate.Down()
	cfg := e.config(t, "node-1", t.TempDir())
	c := newClient(t, cfg)
	err := c.Start(context.Background())
	if StageOf(err) != StageTCP {
		t.Fatalf("Start: got %v (stage %q), want a tcp failure", err, StageOf(err))
	}
	st := c.Status()
	if st.State != Unlicensed || !strings.Contains(st.Reason, "cannot connect") {
		t.Errorf("got %v %q, want unlicensed saying it cannot connect", st.State, st.Reason)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Err.Code != licensor.EUNAVAILABLE {
		t.Errorf("error type: got %T, want *client.Error with code unavailable", err)
	}
}
