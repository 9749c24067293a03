package netguard

import (
	"context"
	"net"
	"sync"
	"time"
)

// ListenerConfig bounds the connections a Listener keeps open.
type ListenerConfig struct {
	// MaxConns caps the connections open at once; over it a new connection
	// is closed as soon as it is accepted (0: no cap).
	MaxConns int
	// MaxConnsPerAddr caps the connections open at once from one client IP
	// address (0: no cap).
	MaxConnsPerAddr int
	// MaxUnauthPerAddr caps the connections from one client IP address that
	// have not yet carried an authenticated request (0: no cap), and
	// MaxUnauth those from all addresses together: each holds memory until
	// its idle limit, and many addresses are cheap to an attacker. Every new
	// connection starts unauthenticated.
	MaxUnauthPerAddr int
	MaxUnauth        int
	// UnauthIdle closes a connection that has never carried an authenticated
	// request once it has had no request in flight for this long, counted
	// from its accept or its last request's end (0: never).
	UnauthIdle time.Duration
	// Metrics counts what the listener does (nil: not counted).
	Metrics *Metrics
	// AfterFunc replaces time.AfterFunc (tests); default time.AfterFunc.
	AfterFunc func(d time.Duration, f func()) Timer
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Timer is the part of *time.Timer the listener uses.
type Timer interface{ Stop() bool }

// Listener wraps a net.Listener with connection caps and the idle limit of
// connections that never authenticated. Wrap the plain TCP listener (TLS
// goes around it) and set http.Server.ConnContext to ConnContext, so that a
// request can mark its connection with Authenticated, Begin and End.
type Listener struct {
	net.Listener
	cfg ListenerConfig

	mu     sync.Mutex
	open   int
	unauth int
	byAddr map[string]*addrCount
}

type addrCount struct{ open, unauth int }

// NewListener wraps ln.
func NewListener(ln net.Listener, cfg ListenerConfig) *Listener {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
	}
	return &Listener{Listener: ln, cfg: cfg, byAddr: make(map[string]*addrCount)}
}

// Open returns how many connections are open.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Accept returns the next connection within the caps; one over a cap is
// closed at once and counted, and Accept waits for the next.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := hostOf(c.RemoteAddr())
		if reason := l.admit(addr); reason != "" {
			_ = c.Close()
			l.cfg.Metrics.refused(reason)
			continue
		}
		l.cfg.Metrics.opened()
		gc := &Conn{Conn: c, l: l, addr: addr, idleFrom: l.cfg.Now()}
		if l.cfg.UnauthIdle > 0 {
			gc.mu.Lock()
			gc.timer = l.cfg.AfterFunc(l.cfg.UnauthIdle, gc.checkIdle)
			gc.mu.Unlock()
		}
		return gc, nil
	}
}

// Refusal reasons, the label of the refused-connections metric.
const (
	ReasonTotal        = "total"
	ReasonPerAddr      = "per_addr"
	ReasonUnauthPerAdr = "unauth_per_addr"
	ReasonUnauth       = "unauth"
)

func (l *Listener) admit(addr string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.byAddr[addr]
	switch {
	case l.cfg.MaxConns > 0 && l.open >= l.cfg.MaxConns:
		return ReasonTotal
	case a != nil && l.cfg.MaxConnsPerAddr > 0 && a.open >= l.cfg.MaxConnsPerAddr:
		return ReasonPerAddr
	case a != nil && l.cfg.MaxUnauthPerAddr > 0 && a.unauth >= l.cfg.MaxUnauthPerAddr:
		return ReasonUnauthPerAdr
	case l.cfg.MaxUnauth > 0 && l.unauth >= l.cfg.MaxUnauth:
		return ReasonUnauth
	}
	if a == nil {
		a = &addrCount{}
		l.byAddr[addr] = a
	}
	l.open++
	l.unauth++
	a.open++
	a.unauth++
	return ""
}

func (l *Listener) release(addr string, unauth bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	a := l.byAddr[addr]
	a.open--
	if unauth {
		a.unauth--
		l.unauth--
	}
	if a.open == 0 {
		delete(l.byAddr, addr)
	}
}

func (l *Listener) authenticated(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byAddr[addr].unauth--
	l.unauth--
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// Conn is a connection accepted by a Listener.
type Conn struct {
	net.Conn
	l    *Listener
	addr string

	mu       sync.Mutex
	authed   bool
	closed   bool
	inFlight int
	idleFrom time.Time
	timer    Timer
}

type connKey struct{}

// ConnContext is the http.Server.ConnContext that lets a request find its
// Conn (through a *tls.Conn too).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	for {
		switch v := c.(type) {
		case *Conn:
			return context.WithValue(ctx, connKey{}, v)
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return ctx
		}
	}
}

// ConnFrom returns the request's Conn, or nil when the request did not come
// through a Listener.
func ConnFrom(ctx context.Context) *Conn {
	c, _ := ctx.Value(connKey{}).(*Conn)
	return c
}

// Authenticated marks the connection as having carried an authenticated
// request: it leaves the unauthenticated count and its idle limit.
func (c *Conn) Authenticated() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.authed || c.closed {
		return
	}
	c.authed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.l.authenticated(c.addr)
}

// Begin and End bracket a request on the connection: an unauthenticated
// connection is not closed while a request is in flight, and its idle
// time counts from the last request's end.
func (c *Conn) Begin() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.inFlight++
	c.mu.Unlock()
}

// End: see Begin.
func (c *Conn) End() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.inFlight--
	c.idleFrom = c.l.cfg.Now()
	c.mu.Unlock()
}

// checkIdle closes the connection if it is still unauthenticated and idle,
// else looks again when the idle limit would next be reached.
func (c *Conn) checkIdle() {
	c.mu.Lock()
	if c.authed || c.closed {
		c.mu.Unlock()
		return
	}
	wait := c.l.cfg.UnauthIdle
	if c.inFlight == 0 {
		wait -= c.l.cfg.Now().Sub(c.idleFrom)
	}
	if wait > 0 {
		c.timer = c.l.cfg.AfterFunc(wait, c.checkIdle)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.l.cfg.Metrics.unauthIdleClosed()
	_ = c.Close()
}

// Close closes the connection once and gives its place back.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	unauth := !c.authed
	c.mu.Unlock()
	c.l.release(c.addr, unauth)
	c.l.cfg.Metrics.closed()
	return c.Conn.Close()
}
