package netguard

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// fakeTimers runs the listener's idle checks when the test says so.
type fakeTimers struct {
	mu  sync.Mutex
	fns []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { t.stopped = true; return true }

func (ft *fakeTimers) AfterFunc(d time.Duration, f func()) Timer {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{d: d, f: f}
	ft.fns = append(ft.fns, t)
	return t
}

// fire runs every pending, unstopped timer once.
func (ft *fakeTimers) fire() {
	ft.mu.Lock()
	fns := ft.fns
	ft.fns = nil
	ft.mu.Unlock()
	for _, t := range fns {
		if !t.stopped {
			t.f()
		}
	}
}

// pipeListener hands out one end of net.Pipe pairs with chosen remote
// addresses.
type pipeListener struct {
	conns chan net.Conn
}

func (p *pipeListener) Accept() (net.Conn, error) {
	c, ok := <-p.conns
	if !ok {
		return nil, errors.New("closed")
	}
	return c, nil
}
func (p *pipeListener) Close() error   { close(p.conns); return nil }
func (p *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

func dialFrom(t *testing.T, p *pipeListener, ip string) net.Conn {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { _ = client.Close() })
	p.conns <- addrConn{server, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	return client
}

func TestListener(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	setup := func(cfg ListenerConfig) (*Listener, *pipeListener, *fakeTimers) {
		p := &pipeListener{conns: make(chan net.Conn, 16)}
		ft := &fakeTimers{}
		cfg.AfterFunc, cfg.Now = ft.AfterFunc, clock
		return NewListener(p, cfg), p, ft
	}

	t.Run("PerAddrCap", func(t *testing.T) {
		l, p, _ := setup(ListenerConfig{MaxConnsPerAddr: 2})
		dialFrom(t, p, "10.0.0.1")
		dialFrom(t, p, "10.0.0.1")
		refused := dialFrom(t, p, "10.0.0.1")
		dialFrom(t, p, "10.0.0.2")
		var got []string
		for range 3 {
			c, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, c.RemoteAddr().(*net.TCPAddr).IP.String())
		}
		if want := []string{"10.0.0.1", "10.0.0.1", "10.0.0.2"}; !equal(got, want) {
			t.Errorf("accepted from %v, want %v", got, want)
		}
		if _, err := refused.Read(make([]byte, 1)); err == nil {
			t.Error("third connection from 10.0.0.1: got a read, want it closed")
		}
	})

	t.Run("TotalCapFreesOnClose", func(t *testing.T) {
		l, p, _ := setup(ListenerConfig{MaxConns: 1})
		dialFrom(t, p, "10.0.0.1")
		first, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		next := make(chan net.Conn, 1)
		go func() { c, _ := l.Accept(); next <- c }()
		refused := dialFrom(t, p, "10.0.0.2")
		if _, err := refused.Read(make([]byte, 1)); err == nil {
			t.Error("connection over the total cap: got a read, want it closed")
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		dialFrom(t, p, "10.0.0.3")
		c := <-next
		if got := c.RemoteAddr().(*net.TCPAddr).IP.String(); got != "10.0.0.3" {
			t.Errorf("accepted %s after the first closed, want 10.0.0.3", got)
		}
		if got := l.Open(); got != 1 {
			t.Errorf("open: got %d, want 1", got)
		}
	})

	t.Run("UnauthPerAddrCountsOnlyUnauthenticated", func(t *testing.T) {
		l, p, _ := setup(ListenerConfig{MaxUnauthPerAddr: 1})
		dialFrom(t, p, "10.0.0.1")
		c1, _ := l.Accept()
		c1.(*Conn).Authenticated()
		dialFrom(t, p, "10.0.0.1")
		c2, _ := l.Accept()
		refused := dialFrom(t, p, "10.0.0.1")
		dialFrom(t, p, "10.0.0.9")
		c3, _ := l.Accept()
		if got := c3.RemoteAddr().(*net.TCPAddr).IP.String(); got != "10.0.0.9" {
			t.Errorf("accepted %s, want 10.0.0.9 (the second unauthenticated one from 10.0.0.1 refused)", got)
		}
		if _, err := refused.Read(make([]byte, 1)); err == nil {
			t.Error("second unauthenticated connection from 10.0.0.1: got a read, want it closed")
		}
		_ = c2
	})

	t.Run("UnauthTotalCap", func(t *testing.T) {
		l, p, _ := setup(ListenerConfig{MaxUnauth: 1})
		dialFrom(t, p, "10.0.0.1")
		c1, _ := l.Accept()
		refused := dialFrom(t, p, "10.0.0.2")
		next := make(chan net.Conn, 1)
		go func() { c, _ := l.Accept(); next <- c }()
		if _, err := refused.Read(make([]byte, 1)); err == nil {
			t.Error("second unauthenticated connection: got a read, want it closed")
		}
		c1.(*Conn).Authenticated() // the first leaves the unauthenticated count
		dialFrom(t, p, "10.0.0.3")
		if got := (<-next).RemoteAddr().(*net.TCPAddr).IP.String(); got != "10.0.0.3" {
			t.Errorf("accepted %s, want 10.0.0.3", got)
		}
	})

	t.Run("UnauthIdle", func(t *testing.T) {
		l, p, ft := setup(ListenerConfig{UnauthIdle: 10 * time.Second})
		idle := dialFrom(t, p, "10.0.0.1")
		busy := dialFrom(t, p, "10.0.0.1")
		authed := dialFrom(t, p, "10.0.0.1")
		_, _ = l.Accept()
		cb, _ := l.Accept()
		ca, _ := l.Accept()
		cb.(*Conn).Begin()
		ca.(*Conn).Authenticated()
		now = now.Add(10 * time.Second)
		ft.fire()
		if _, err := idle.Read(make([]byte, 1)); err == nil {
			t.Error("idle unauthenticated connection: got a read, want it closed")
		}
		for _, tc := range []struct {
			name string
			c    net.Conn
			peer net.Conn
		}{{"busy", cb, busy}, {"authenticated", ca, authed}} {
			go func() { _, _ = tc.c.Write([]byte{1}) }()
			if _, err := tc.peer.Read(make([]byte, 1)); err != nil {
				t.Errorf("%s connection: got %v, want it open", tc.name, err)
			}
		}
		// The busy one's request ends: idle from now, closed 10 s later.
		cb.(*Conn).End()
		now = now.Add(5 * time.Second)
		ft.fire()
		go func() { _, _ = cb.Write([]byte{1}) }()
		if _, err := busy.Read(make([]byte, 1)); err != nil {
			t.Errorf("5 s after its request: got %v, want it open", err)
		}
		now = now.Add(5 * time.Second)
		ft.fire()
		if _, err := busy.Read(make([]byte, 1)); err == nil {
			t.Error("10 s after its request: got a read, want it closed")
		}
		if got := l.Open(); got != 1 {
			t.Errorf("open: got %d, want 1 (the authenticated one)", got)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
