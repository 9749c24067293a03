package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// AttackResult compares the real fleet's figures without and with the
// attack running beside it.
type AttackResult struct {
	// Baseline is the same load before any attacker connects; the run's
	// own figures (Result) are those under attack.
	Baseline *Result `json:"baseline"`
	Slow     int     `json:"slow_body_attackers"`
	Idle     int     `json:"idle_attackers"`
	Addrs    int     `json:"source_addresses"`
	// Dials counts the attackers' connection attempts; Refused those the
	// server closed before the TLS handshake ended (over a connection cap);
	// Closed those it closed later (refused request, idle limit, body
	// timeout). HeldPeak is the most attacker connections open at once.
	Dials    int64 `json:"dials"`
	Refused  int64 `json:"refused"`
	Closed   int64 `json:"closed"`
	HeldPeak int64 `json:"held_peak"`
}

// attack holds AttackSlow connections that send a request body a byte
// every AttackInterval, and AttackIdle connections that finish the TLS
// (and HTTP/2) handshake and then send nothing, none with a token, each
// redialling AttackInterval after the server closes it, from AttackAddrs
// loopback source addresses (127.1.x.y) so that the per-address caps do
// not simply refuse them all.
type attack struct {
	cfg      *Config
	addr     string
	tls      *tls.Config
	res      *AttackResult
	held     atomic.Int64
	wg       sync.WaitGroup
	cancel   context.CancelFunc
	dials    atomic.Int64
	refused  atomic.Int64
	closed   atomic.Int64
	heldPeak atomic.Int64
}

func startAttack(ctx context.Context, cfg *Config) (*attack, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &attack{cfg: cfg, addr: u.Host, tls: tc, cancel: cancel,
		res: &AttackResult{Slow: cfg.AttackSlow, Idle: cfg.AttackIdle, Addrs: cfg.AttackAddrs}}
	for i := range cfg.AttackSlow + cfg.AttackIdle {
		if i < cfg.AttackSlow {
			a.wg.Go(func() { a.loop(ctx, i, "http/1.1", a.slowBody) })
		} else {
			a.wg.Go(func() { a.loop(ctx, i, "h2", a.idle) })
		}
	}
	return a, nil
}

// stop ends the attack and returns its counts.
func (a *attack) stop() *AttackResult {
	a.cancel()
	a.wg.Wait()
	a.res.Dials, a.res.Refused, a.res.Closed, a.res.HeldPeak = a.dials.Load(), a.refused.Load(), a.closed.Load(), a.heldPeak.Load()
	return a.res
}

// loop dials from attacker i's source address, offering the application
// protocol proto, and runs hold on each connection until ctx ends, waiting AttackInterval (jittered) between.
func (a *attack) loop(ctx context.Context, i int, proto string, hold func(ctx context.Context, c *tls.Conn)) {
	src := &net.TCPAddr{IP: net.IPv4(127, 1, byte(i%a.cfg.AttackAddrs/250), byte(1+i%a.cfg.AttackAddrs%250))}
	// Spread the first dials over one interval: a cold start of thousands
	// of handshakes at once is a different attack.
	wait := time.Duration(rand.Float64() * float64(a.cfg.AttackInterval))
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = a.cfg.AttackInterval/2 + time.Duration(rand.Float64()*float64(a.cfg.AttackInterval))
		a.dials.Add(1)
		d := &net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
		cfg := a.tls.Clone()
		cfg.NextProtos = []string{proto}
		c, err := tls.DialWithDialer(d, "tcp", a.addr, cfg)
		if err != nil {
			a.refused.Add(1)
			continue
		}
		if n := a.held.Add(1); n > a.heldPeak.Load() {
			a.heldPeak.Store(n) // racy max: a figure, not an invariant
		}
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		hold(ctx, c)
		stop()
		_ = c.Close()
		a.held.Add(-1)
		if ctx.Err() == nil {
			a.closed.Add(1)
		}
	}
}

// slowBody sends a GetLicense with Content-Length 100000 over HTTP/1.1 and
// then one byte of body every AttackInterval, until the server answers or
// closes.
func (a *attack) slowBody(ctx context.Context, c *tls.Conn) {
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, c); close(done) }()
	if _, err := fmt.Fprintf(c, "POST /licensor.v1.LicenseService/GetLicense HTTP/1.1\r\nHost: %s\r\nContent-Type: application/proto\r\nContent-Length: 100000\r\n\r\n", a.addr); err != nil {
		return
	}
	t := time.NewTicker(a.cfg.AttackInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
			if _, err := c.Write([]byte{0}); err != nil {
				return
			}
		}
	}
}

// idle holds the connection without a request (after the HTTP/2 preface
// when the server chose h2) until the server closes it.
func (a *attack) idle(ctx context.Context, c *tls.Conn) {
	if c.ConnectionState().NegotiatedProtocol == "h2" {
		if _, err := io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
			return
		}
	}
	_, _ = io.Copy(io.Discard, c)
}

// attack runs the refresh load alone, then beside the attack, and reports
// both; the server's usage is that of each phase.
func (f *fleet) attack(ctx context.Context, res *Result) (*Result, error) {
	cfg := f.cfg
	base := &Result{Scenario: ScenarioRefresh}
	use := drive(ctx, cfg, f.refresh, base)
	base.Server = use.stop(base.Elapsed)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	a, err := startAttack(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// The attackers' first dials spread over one interval: measure once
	// they are all in.
	select {
	case <-ctx.Done():
	case <-time.After(cfg.AttackInterval):
	}
	noWarmup := *cfg
	noWarmup.Warmup = 0
	use = drive(ctx, &noWarmup, f.refresh, res)
	res.Server = use.stop(res.Elapsed)
	res.Attack = a.stop()
	res.Attack.Baseline = base
	return res, ctx.Err()
}
