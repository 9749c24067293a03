package server_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/rpcerr"
	"github.com/licensor/licensor/server"
)

// dialFrom completes a TLS handshake from the loopback address ip (Linux
// routes all of 127.0.0.0/8 to lo), or returns the error of a connection
// the server closed at accept.
func (g *guarded) dialFrom(t *testing.T, ip string) (*tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	cfg := g.tls.Clone()
	cfg.NextProtos = []string{"h2"}
	c, err := tls.DialWithDialer(d, "tcp", g.addr, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, nil
}

func (g *guarded) getLicense(t *testing.T, lc interface {
	GetLicense(context.Context, *connect.Request[v1.GetLicenseRequest]) (*connect.Response[v1.GetLicenseResponse], error)
}, f *testserver.Fixture) error {
	t.Helper()
	_, err := lc.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "real", Host: "node"}))
	return err
}

func TestConnectionCaps(t *testing.T) {
	t.Run("PerAddr", func(t *testing.T) {
		g := startGuarded(t, server.Limits{MaxConnsPerAddr: 2, MaxUnauthConnsPerAddr: -1, UnauthIdle: -1})
		f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
		for i := range 2 {
			if _, err := g.dialFrom(t, "127.0.0.2"); err != nil {
				t.Fatalf("connection %d from 127.0.0.2: %v", i+1, err)
			}
		}
		if _, err := g.dialFrom(t, "127.0.0.2"); err == nil {
			t.Error("third connection from 127.0.0.2: handshake succeeded, want it closed at accept")
		}
		for _, p := range testserver.Protocols {
			if err := g.getLicense(t, g.license(p, f.ContractToken), f); err != nil {
				t.Errorf("%s GetLicense from 127.0.0.1: %v", p, err)
			}
		}
		if got := g.metric(t, "licensor_connections_refused_total", "reason", "per_addr"); got != 1 {
			t.Errorf("refused per_addr: got %v, want 1", got)
		}
	})
	t.Run("UnauthPerAddr", func(t *testing.T) {
		g := startGuarded(t, server.Limits{MaxUnauthConnsPerAddr: 2, UnauthIdle: -1})
		f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
		for i := range 2 {
			if _, err := g.dialFrom(t, "127.0.0.2"); err != nil {
				t.Fatalf("connection %d from 127.0.0.2: %v", i+1, err)
			}
		}
		if _, err := g.dialFrom(t, "127.0.0.2"); err == nil {
			t.Error("third unauthenticated connection from 127.0.0.2: handshake succeeded, want it closed at accept")
		}
		if err := g.getLicense(t, g.license(testserver.GRPC, f.ContractToken), f); err != nil {
			t.Errorf("GetLicense from 127.0.0.1: %v", err)
		}
		if got := g.metric(t, "licensor_connections_refused_total", "reason", "unauth_per_addr"); got != 1 {
			t.Errorf("refused unauth_per_addr: got %v, want 1", got)
		}
	})
	t.Run("Total", func(t *testing.T) {
		g := startGuarded(t, server.Limits{MaxConns: 3, UnauthIdle: -1})
		f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
		real := g.license(testserver.GRPC, f.ContractToken) // one HTTP/2 connection, kept
		if err := g.getLicense(t, real, f); err != nil {
			t.Fatal(err)
		}
		for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
			if _, err := g.dialFrom(t, ip); err != nil {
				t.Fatalf("connection from %s: %v", ip, err)
			}
		}
		if _, err := g.dialFrom(t, "127.0.0.4"); err == nil {
			t.Error("fourth connection: handshake succeeded, want it closed at accept")
		}
		if err := g.getLicense(t, real, f); err != nil {
			t.Errorf("GetLicense on the open connection: %v", err)
		}
		if got := g.metric(t, "licensor_connections_refused_total", "reason", "total"); got != 1 {
			t.Errorf("refused total: got %v, want 1", got)
		}
		if got := g.metric(t, "licensor_connections_open"); got != 3 {
			t.Errorf("open: got %v, want 3", got)
		}
	})
}

// A connection that never authenticates is closed once idle; the server
// closes it (the client only reads). One that carried an authenticated
// call, idle since before, stays.
func TestUnauthenticatedIdleClosed(t *testing.T) {
	g := startGuarded(t, server.Limits{UnauthIdle: 100 * time.Millisecond})
	f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	real := g.license(testserver.GRPC, f.ContractToken)
	if err := g.getLicense(t, real, f); err != nil {
		t.Fatal(err)
	}
	c, err := g.dialFrom(t, "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("read until closed: %v", err)
	}
	if got := g.metric(t, "licensor_connections_unauthenticated_idle_closed_total"); got != 1 {
		t.Errorf("unauthenticated idle closes: got %v, want 1 (the authenticated connection kept)", got)
	}
	if got := g.metric(t, "licensor_connections_open"); got != 1 {
		t.Errorf("open connections: got %v, want 1 (the authenticated one)", got)
	}
}

// One contract's open WatchLicense streams are bounded; over the bound the
// answer is RESOURCE_EXHAUSTED naming the limit, with a long retry hint.
func TestWatchBound(t *testing.T) {
	g := startGuarded(t, server.Limits{WatchPerSeat: 1, WatchMin: 2})
	f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := func(p testserver.Protocol, instance string) (*connect.ServerStreamForClient[v1.WatchLicenseResponse], error) {
		s, err := g.license(p, f.ContractToken).WatchLicense(ctx, connect.NewRequest(&v1.WatchLicenseRequest{ContractId: f.ContractID, InstanceId: instance}))
		if err != nil {
			return nil, err
		}
		if !s.Receive() {
			return nil, s.Err()
		}
		return s, nil
	}
	for i, p := range testserver.Protocols {
		if _, err := watch(p, "w0"); err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
	}
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			_, err := watch(p, "w0")
			var ce *connect.Error
			if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "2 license streams open") {
				t.Fatalf("third stream: got %v, want resource_exhausted naming the limit of 2", err)
			}
			if errors.As(err, &ce); ce.Meta().Get(rpcerr.HeaderRetryAfter) != "300" {
				t.Errorf("retry hint: got %q, want 300", ce.Meta().Get(rpcerr.HeaderRetryAfter))
			}
		})
	}
	if got := g.metric(t, "licensor_watch_streams_refused_total"); got != 2 {
		t.Errorf("refused streams: got %v, want 2", got)
	}
	if _, err := g.license(testserver.GRPC, f.ContractToken).GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "w0"})); err != nil {
		t.Errorf("GetLicense beside the streams: %v", err)
	}
}

// TLS 1.2 is offered with AEAD suites only: a client offering only CBC
// suites fails the handshake.
func TestTLSCipherSuites(t *testing.T) {
	g := startGuarded(t, server.Limits{})
	for _, tc := range []struct {
		name   string
		suites []uint16
		ok     bool
	}{
		{"CBCOnly", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256}, false},
		{"GCM", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := g.tls.Clone()
			cfg.MaxVersion, cfg.CipherSuites = tls.VersionTLS12, tc.suites
			c, err := tls.Dial("tcp", g.addr, cfg)
			if err == nil {
				_ = c.Close()
			}
			if (err == nil) != tc.ok {
				t.Errorf("TLS 1.2 handshake: got %v, want success %v", err, tc.ok)
			}
		})
	}
}
