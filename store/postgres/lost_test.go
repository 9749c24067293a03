package postgres_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store"
)

// TestLostAnswers: a grant or a return sent in one batch whose answer never
// arrives (the connection breaks after PostgreSQL received the whole batch,
// COMMIT included) has an unknown outcome. The store must say so
// (EUNAVAILABLE), and must not run the call again on the general path:
// that would grant a second lease for one request, or answer a return
// that was carried out with "not found". A new instance, which cannot be
// created twice, runs again alone; and any statement whose connection
// breaks is EUNAVAILABLE, never an internal error.
func TestLostAnswers(t *testing.T) {
	dbURL, schema := pgtest.Schema(t)
	direct := pgtest.OpenSchema(t, dbURL, schema)
	tid, pool, contract := poolWorld(t, direct, 5)
	// Bounded: a proxy that miscounted would leave a call waiting.
	ctx, cancel := context.WithTimeout(licensor.WithTenant(context.Background(), tid), time.Minute)
	defer cancel()
	proxy := newCutProxy(t, dbURL)
	cut := pgtest.OpenSchema(t, proxy.url, schema)
	now := time.Now().UTC()

	inUse := func() int64 { t.Helper(); return solverInUse(t, direct, ctx, pool) }
	leases := func(instance string) int {
		t.Helper()
		var n int
		if err := direct.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM leases WHERE tenant_id = $1 AND instance_id = $2`, tid, instance).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("Grant", func(t *testing.T) {
		proxy.arm("i-lost-grant")
		_, err := cut.TakeCapabilities(ctx, licensor.Take{
			PoolID: pool, ContractID: contract, InstanceID: "i-lost-grant",
			Units: []licensor.Units{{Feature: "solver", Units: 1}}, Now: now, ExpiresAt: now.Add(time.Minute),
		})
		if code := licensor.ErrorCode(err); code != licensor.EUNAVAILABLE {
			t.Fatalf("TakeCapabilities: got error %v (code %q), want %s", err, code, licensor.EUNAVAILABLE)
		}
		if proxy.cuts() != 1 {
			t.Fatalf("the proxy cut %d connections, want 1", proxy.cuts())
		}
		// PostgreSQL ran the batch it received: one lease, one unit.
		if n, u := leases("i-lost-grant"), inUse(); n != 1 || u != 1 {
			t.Errorf("after the lost grant: %d leases and %d units in use, want 1 and 1", n, u)
		}
	})

	t.Run("Return", func(t *testing.T) {
		// Granted through the same store, which then knows the lease's
		// pool and sends the return as one batch.
		res, err := cut.TakeCapabilities(ctx, licensor.Take{
			PoolID: pool, ContractID: contract, InstanceID: "i-lost-return",
			Units: []licensor.Units{{Feature: "solver", Units: 1}}, Now: now, ExpiresAt: now.Add(time.Minute),
		})
		if err != nil || !res.Granted {
			t.Fatalf("TakeCapabilities: got %+v, %v; want a grant", res, err)
		}
		before := inUse()
		proxy.arm(res.Lease.ID)
		ret := licensor.LeaseReturn{LeaseID: res.Lease.ID, ContractID: contract, InstanceID: "i-lost-return", Now: now}
		_, _, err = cut.ReturnCapabilities(ctx, ret)
		if code := licensor.ErrorCode(err); code != licensor.EUNAVAILABLE {
			t.Fatalf("ReturnCapabilities: got error %v (code %q), want %s", err, code, licensor.EUNAVAILABLE)
		}
		if proxy.cuts() != 2 {
			t.Fatalf("the proxy cut %d connections, want 2", proxy.cuts())
		}
		if n, u := leases("i-lost-return"), inUse(); n != 0 || u != before-1 {
			t.Errorf("after the lost return: %d leases and %d units in use, want 0 and %d", n, u, before-1)
		}
		// The client's retry learns that the lease is gone.
		if _, _, err := cut.ReturnCapabilities(ctx, ret); licensor.ErrorCode(err) != licensor.ENOTFOUND {
			t.Errorf("the return retried: got error %v, want %s", err, licensor.ENOTFOUND)
		}
	})

	// A plain statement whose connection breaks: the database is
	// unavailable (retry), not an internal error.
	t.Run("Read", func(t *testing.T) {
		proxy.arm(pool)
		_, err := cut.GetPool(ctx, pool)
		if code := licensor.ErrorCode(err); code != licensor.EUNAVAILABLE {
			t.Errorf("GetPool: got error %v (code %q), want %s", err, code, licensor.EUNAVAILABLE)
		}
		if _, err := cut.GetPool(ctx, pool); err != nil {
			t.Errorf("GetPool again: got error %v, want none", err)
		}
	})

	// A new instance's answer lost: the check-in runs again alone, finds
	// the instance the lost batch created, and takes no second seat.
	t.Run("NewInstance", func(t *testing.T) {
		cctx, contractID := seedContract(t, direct, 3)
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		// The first statement to bind it is the refresh that finds no
		// instance; the second, the batch that creates it.
		proxy.armAfter("i-lost-new", 1)
		inst, err := cut.Checkin(cctx, licensor.Checkin{
			ContractID: contractID, InstanceID: "i-lost-new", TakesSeat: true,
			Now: t0, LicenseID: licensor.NewID(licensor.PrefixLicense), LicenseExpiresAt: t0.Add(time.Hour),
		})
		if err != nil || inst == nil || !inst.Seat {
			t.Fatalf("Checkin: got %+v, %v; want the instance holding a seat", inst, err)
		}
		if proxy.cuts() != 4 {
			t.Fatalf("the proxy cut %d connections, want 4", proxy.cuts())
		}
		c, err := direct.GetContract(cctx, contractID)
		if err != nil {
			t.Fatal(err)
		}
		if c.SeatsUsed != 1 {
			t.Errorf("seats used: got %d, want 1", c.SeatsUsed)
		}
	})

	// A group's answer lost: each of its grants is answered with the
	// error, none runs again alone.
	t.Run("Group", func(t *testing.T) {
		us := now.UnixMicro()
		grant := func(lease string) func() shortcutResult {
			return func() shortcutResult {
				done, err := cut.Shortcut().GrantWhole(ctx, store.Grant{
					Tenant: tid, Pool: pool, Feature: "solver", Units: 1, Queue: 1 << 62, Now: us, Expires: us + 60e6,
					Lease: lease, Contract: contract, Instance: "i-lost-group", UnitsJSON: `{"solver":1}`,
				})
				return shortcutResult{done: done, err: err}
			}
		}
		before := inUse()
		proxy.arm("lea_lost_g1")
		got := runHeld(t, cut, grant("lea_lost_g0"), grant("lea_lost_g1"), grant("lea_lost_g2"))
		if r := got[0]; !r.done || r.err != nil {
			t.Errorf("the held grant: got done %v, error %v; want done, no error", r.done, r.err)
		}
		for i, r := range got[1:] {
			if code := licensor.ErrorCode(r.err); !r.done || code != licensor.EUNAVAILABLE {
				t.Errorf("grant %d of the lost group: got done %v, error %v; want done, %s", i+1, r.done, r.err, licensor.EUNAVAILABLE)
			}
		}
		if n, u := leases("i-lost-group"), inUse(); n != 3 || u != before+3 {
			t.Errorf("after the lost group: %d leases and %d units in use, want 3 and %d", n, u, before+3)
		}
	})
}

// cutProxy passes connections through to PostgreSQL, message by message.
// Armed with a marker, it cuts the first connection that binds it as a
// parameter: PostgreSQL gets that batch whole (up to its Sync) and runs
// it, and once PostgreSQL's answer to it has ended, the proxy closes the
// client's side without having passed on a byte of that answer.
type cutProxy struct {
	url    string
	target func() (net.Conn, error)

	mu     sync.Mutex
	marker []byte
	skip   int
	n      int
	conns  []net.Conn
}

func newCutProxy(t *testing.T, dbURL string) *cutProxy {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	network, addr := "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	if strings.HasPrefix(cfg.Host, "/") {
		network, addr = "unix", cfg.Host+"/.s.PGSQL."+strconv.Itoa(int(cfg.Port))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("host")
	q.Del("port")
	q.Set("sslmode", "disable") // the proxy reads the protocol
	u.Host, u.RawQuery = ln.Addr().String(), q.Encode()
	p := &cutProxy{url: u.String(), target: func() (net.Conn, error) { return net.Dial(network, addr) }}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := p.target()
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			var cut atomic.Int64 // the number of the Sync that ends the batch to cut
			wg.Add(2)
			go func() { defer wg.Done(); p.upstream(c, s, &cut) }()
			go func() { defer wg.Done(); downstream(s, c, &cut) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	return p
}

// arm makes the proxy cut the next connection that binds marker.
func (p *cutProxy) arm(marker string) { p.armAfter(marker, 0) }

// armAfter makes the proxy cut the connection that binds marker after
// skip batches have bound it.
func (p *cutProxy) armAfter(marker string, skip int) {
	p.mu.Lock()
	p.marker, p.skip = []byte(marker), skip
	p.mu.Unlock()
}

func (p *cutProxy) cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// take reports whether bind holds the armed marker, and disarms it.
func (p *cutProxy) take(bind []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.marker == nil || !bytes.Contains(bind, p.marker) {
		return false
	}
	if p.skip > 0 {
		p.skip--
		return false
	}
	p.marker = nil
	p.n++
	return true
}

// upstream passes the client's messages to PostgreSQL, counting what
// PostgreSQL answers with a ReadyForQuery (the startup, each Sync and each
// simple query); a Bind of the marker sets cut to the number of the next
// Sync.
func (p *cutProxy) upstream(c, s net.Conn, cut *atomic.Int64) {
	defer s.Close()
	defer c.Close()
	r := bufio.NewReader(c)
	startup, err := readMessage(r, false)
	if err != nil {
		return
	}
	if _, err := s.Write(startup); err != nil {
		return
	}
	syncs := int64(1) // the startup is answered with a ReadyForQuery too
	for {
		m, err := readMessage(r, true)
		if err != nil {
			return
		}
		switch m[0] {
		case 'B':
			if cut.Load() == 0 && p.take(m) {
				cut.Store(syncs + 1)
			}
		case 'S', 'Q': // a Sync, or a query of the simple protocol
			syncs++
		}
		if _, err := s.Write(m); err != nil {
			return
		}
	}
}

// downstream passes PostgreSQL's messages to the client, counting the
// ReadyForQuery messages: the answer to the batch that
// ends with Sync number cut is dropped, and at its end the client's side
// is closed.
func downstream(s, c net.Conn, cut *atomic.Int64) {
	defer c.Close()
	r := bufio.NewReader(s)
	var ready int64
	for {
		m, err := readMessage(r, true)
		if err != nil {
			return
		}
		n := cut.Load()
		dropped := n > 0 && ready >= n-1
		if m[0] == 'Z' {
			ready++
		}
		switch {
		case !dropped:
			if _, err := c.Write(m); err != nil {
				return
			}
		case m[0] == 'Z' && ready == n:
			return
		}
	}
}

// readMessage reads one message of the protocol, whole: a type byte (not
// in the client's first message), a length that counts itself, the rest.
func readMessage(r *bufio.Reader, typed bool) ([]byte, error) {
	head := 4
	if typed {
		head = 5
	}
	m := make([]byte, head)
	if _, err := io.ReadFull(r, m); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(m[head-4:]))
	if n < 4 || n > 1<<30 {
		return nil, fmt.Errorf("message length %d", n)
	}
	m = append(m, make([]byte, n-4)...)
	_, err := io.ReadFull(r, m[head:])
	return m, err
}
