package client

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// TestRetryHint: RESOURCE_EXHAUSTED with a retry hint makes the client wait
// at least that long, whether the hint comes from Licensor's metadata (gRPC)
// or a bare 429 with Retry-After (a load balancer, Connect protocol).
func TestRetryHint(t *testing.T) {
	cases := []struct {
		name     string
		protocol Protocol
		handler  func(calls *atomic.Int32) http.Handler
		wantCode string
	}{
		{"GRPCExhausted", GRPC, func(calls *atomic.Int32) http.Handler {
			return fakeLicenseHandler(func(context.Context, *v1.GetLicenseRequest) (*v1.GetLicenseResponse, error) {
				calls.Add(1)
				err := connect.NewError(connect.CodeResourceExhausted, errors.New("tenant over its concurrency threshold; retry later"))
				err.Meta().Set("Licensor-Error-Code", licensor.EEXHAUSTED)
				err.Meta().Set("Retry-After", "30")
				err.Meta().Set("Licensor-Retry-After-Ms", "30000")
				return nil, err
			})
		}, licensor.EEXHAUSTED},
		{"ConnectExhausted", Connect, func(calls *atomic.Int32) http.Handler {
			return fakeLicenseHandler(func(context.Context, *v1.GetLicenseRequest) (*v1.GetLicenseResponse, error) {
				calls.Add(1)
				err := connect.NewError(connect.CodeResourceExhausted, errors.New("over the threshold"))
				err.Meta().Set("Retry-After", "30")
				return nil, err
			})
		}, licensor.EEXHAUSTED},
		{"Bare429", Connect, func(calls *atomic.Int32) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Retry-After", "30")
				http.Error(w, "slow down", http.StatusTooManyRequests)
			})
		}, licensor.EUNAVAILABLE},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			url, pool := fakeServer(t, tc.handler(&calls))
			clock := newFakeClock(testserver.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)))
			c := newClient(t, Config{Server: url, ContractID: "con_1", Token: "t", InstanceID: "node-1", Keys: testKeys(t).set,
				RootCAs: pool, Protocol: tc.protocol, Now: clock.Now, After: clock.After})
			err := c.Start(context.Background())
			if licensor.ErrorCode(err) != tc.wantCode || licensor.RetryAfter(err) != 30*time.Second {
				t.Fatalf("Start: got code %q hint %v (%v), want %q and 30s", licensor.ErrorCode(err), licensor.RetryAfter(err), err, tc.wantCode)
			}
			wait := clock.nextWait(t)
			if wait < 30*time.Second || wait > 40*time.Second {
				t.Fatalf("retry wait: got %v, want at least the 30s hint (and not much more)", wait)
			}
			clock.Advance(wait - time.Second)
			if n := calls.Load(); n != 1 {
				t.Fatalf("calls before the hint ran out: got %d, want 1", n)
			}
			clock.Advance(time.Second)
			clock.nextWait(t)
			if n := calls.Load(); n != 2 {
				t.Errorf("calls after the hint: got %d, want 2", n)
			}
		})
	}
}

// TestServerHangs: a server that accepts connections and never answers
// (not even the TLS handshake) costs a call exactly Config.Timeout, which is
// the only thing that can end it; the client then serves from its cache, or
// without one answers unlicensed and does not wait again until its retry is
// due. Nothing depends on how fast a handshake is.
func TestServerHangs(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{})
	dir := t.TempDir()
	first := newClient(t, e.config(t, "node-1", dir))
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	first.Close()

	const timeout = 500 * time.Millisecond
	url, connections := hangingServer(t)
	pool := x509.NewCertPool() // never consulted: no certificate ever comes

	t.Run("WithCache", func(t *testing.T) {
		cfg := e.config(t, "node-1", dir)
		cfg.Server, cfg.RootCAs, cfg.Timeout = url, pool, timeout
		c := newClient(t, cfg)
		if err := c.Start(context.Background()); err != nil {
			t.Fatalf("Start: got %v, want nil from the cache", err)
		}
		err := c.Refresh(context.Background())
		if StageOf(err) != StageTimeout || licensor.ErrorCode(err) != licensor.EUNAVAILABLE {
			t.Fatalf("Refresh: got %v (stage %q), want a timeout", err, StageOf(err))
		}
		if !strings.Contains(err.Error(), "within "+timeout.String()) {
			t.Errorf("message: got %q, want it to name the timeout", err)
		}
		if err := c.Check(context.Background()); err != nil || !c.Status().Licensed() {
			t.Errorf("Check while the server hangs: got %v, want nil (licensed from cache)", err)
		}
	})
	t.Run("NoCache", func(t *testing.T) {
		cfg := e.config(t, "node-2", t.TempDir())
		cfg.Server, cfg.RootCAs, cfg.Timeout = url, pool, timeout
		c := newClient(t, cfg)
		before := connections()
		err := c.Check(context.Background())
		if licensor.ErrorCode(err) != licensor.EFORBIDDEN || !strings.Contains(err.Error(), "within "+timeout.String()) {
			t.Fatalf("Check: got %v, want unlicensed saying the server did not answer", err)
		}
		// A second request does not wait again until the retry is due.
		if err := c.Check(context.Background()); err == nil {
			t.Fatal("second Check: got nil, want unlicensed")
		}
		if n := connections() - before; n != 1 {
			t.Errorf("connections for two Checks: got %d, want 1 (the second answers from the last failure)", n)
		}
	})
}

// hangingServer listens on loopback, accepts every connection and never
// reads or writes on it, until the test ends. connections returns how many
// the client opened so far: it first connects a marker of its own and waits
// until the accept loop reaches it, so every connection made before the
// call is counted (accept takes them in order) whatever the scheduling.
func hangingServer(t *testing.T) (url string, connections func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(accepted)
		for c := range accepted {
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
	})
	clients := 0
	connections = func() int {
		t.Helper()
		marker, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, marker)
		for c := range accepted {
			held = append(held, c)
			if c.RemoteAddr().String() == marker.LocalAddr().String() {
				return clients
			}
			clients++
		}
		t.Fatal("listener closed before the marker connection was accepted")
		return 0
	}
	return "https://" + ln.Addr().String(), connections
}

// TestErrorStages: each failure names the stage a person must look at.
func TestErrorStages(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	cases := []struct {
		name      string
		edit      func(*Config)
		wantStage Stage
		wantCode  string
		wantMsg   string
	}{
		{"TCP", func(c *Config) { c.Server = "https://" + closedAddr }, StageTCP, licensor.EUNAVAILABLE, "cannot connect"},
		{"TLS", func(c *Config) { c.RootCAs = x509.NewCertPool() }, StageTLS, licensor.EUNAVAILABLE, "not trusted"},
		{"DNS", func(c *Config) { c.Server = "https://licensor.invalid:7443"; c.Timeout = 2 * time.Second }, StageDNS, licensor.EUNAVAILABLE, "cannot resolve"},
		{"Unauthenticated", func(c *Config) { c.Token = "lic_ct_wrong" }, StageAuth, licensor.EUNAUTHORIZED, ""},
		{"OtherContract", func(c *Config) { c.ContractID = "con_other" }, StageAuth, licensor.EFORBIDDEN, "another contract"},
	}
	for _, tc := range cases {
		for _, p := range []Protocol{GRPC, Connect} {
			t.Run(tc.name+"/"+string(p), func(t *testing.T) {
				cfg := e.config(t, "node-1", "")
				cfg.Protocol = p
				tc.edit(&cfg)
				c := newClient(t, cfg)
				err := c.Refresh(context.Background())
				if StageOf(err) != tc.wantStage || licensor.ErrorCode(err) != tc.wantCode {
					t.Fatalf("got stage %q code %q (%v), want %q %q", StageOf(err), licensor.ErrorCode(err), err, tc.wantStage, tc.wantCode)
				}
				if !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("message: got %q, want it to contain %q", err, tc.wantMsg)
				}
				if c.License() != nil {
					t.Errorf("a license is held after a failure")
				}
			})
		}
	}
}
