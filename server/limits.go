package server

import (
	"time"

	"github.com/licensor/licensor/internal/netguard"
)

// Limits bound what a client can hold open or send on the API port. A zero
// field takes its default (DefaultLimits); a negative one turns that limit
// off.
type Limits struct {
	// MaxConns caps the connections open at once (default: three quarters
	// of the process's open-file limit, at most 10000). MaxConnsPerAddr
	// caps those from one client IP address; MaxUnauthConnsPerAddr those of
	// one address that have not yet carried an authenticated request, and
	// MaxUnauthConns those of all addresses together.
	MaxConns              int
	MaxConnsPerAddr       int
	MaxUnauthConnsPerAddr int
	MaxUnauthConns        int
	// UnauthIdle closes a connection that has never carried an authenticated
	// request after this long without a request in flight; IdleTimeout is
	// the idle limit of every other connection.
	UnauthIdle  time.Duration
	IdleTimeout time.Duration
	// ReadHeaderTimeout bounds a request's headers, BodyTimeout its body
	// (from the end of the headers to the body's end).
	ReadHeaderTimeout time.Duration
	BodyTimeout       time.Duration
	// MaxMessageBytes caps a request message, as sent and once inflated.
	MaxMessageBytes int
	// MaxStreamsPerConn caps the concurrent HTTP/2 streams of a connection
	// (Go's default is 250; an instance needs a few, and bench's fleet at
	// most 512 over 4 connections).
	MaxStreamsPerConn int
	// A contract may hold WatchPerSeat × its seats WatchLicense streams
	// open, at least WatchMin; a contract with unlimited seats may hold
	// WatchUnlimited.
	WatchPerSeat   int
	WatchMin       int
	WatchUnlimited int
	// WaitStreams caps the WaitCapabilities streams a contract holds open
	// at once (requests waiting in pool queues).
	WaitStreams int
}

// DefaultLimits are the limits of a zero field.
var DefaultLimits = Limits{
	MaxConns:              0, // from the open-file limit: see netguard.DefaultMaxConns
	MaxConnsPerAddr:       1024,
	MaxUnauthConnsPerAddr: 256,
	MaxUnauthConns:        1000,
	UnauthIdle:            10 * time.Second,
	IdleTimeout:           5 * time.Minute,
	ReadHeaderTimeout:     10 * time.Second,
	BodyTimeout:           10 * time.Second,
	MaxMessageBytes:       1 << 20,
	MaxStreamsPerConn:     128,
	WatchPerSeat:          2,
	WatchMin:              10,
	WatchUnlimited:        1000,
	WaitStreams:           1000,
}

// withDefaults fills zero fields from DefaultLimits and turns negative ones
// into 0 (off).
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxConns == 0 {
		l.MaxConns = netguard.DefaultMaxConns()
	}
	ints := []struct{ v, d *int }{
		{&l.MaxConns, &d.MaxConns}, {&l.MaxConnsPerAddr, &d.MaxConnsPerAddr},
		{&l.MaxUnauthConnsPerAddr, &d.MaxUnauthConnsPerAddr}, {&l.MaxUnauthConns, &d.MaxUnauthConns},
		{&l.MaxMessageBytes, &d.MaxMessageBytes},
		{&l.MaxStreamsPerConn, &d.MaxStreamsPerConn}, {&l.WatchPerSeat, &d.WatchPerSeat},
		{&l.WatchMin, &d.WatchMin}, {&l.WatchUnlimited, &d.WatchUnlimited},
		{&l.WaitStreams, &d.WaitStreams},
	}
	for _, f := range ints {
		if *f.v == 0 {
			*f.v = *f.d
		}
		*f.v = max(*f.v, 0)
	}
	durs := []struct{ v, d *time.Duration }{
		{&l.UnauthIdle, &d.UnauthIdle}, {&l.IdleTimeout, &d.IdleTimeout},
		{&l.ReadHeaderTimeout, &d.ReadHeaderTimeout}, {&l.BodyTimeout, &d.BodyTimeout},
	}
	for _, f := range durs {
		if *f.v == 0 {
			*f.v = *f.d
		}
		*f.v = max(*f.v, 0)
	}
	return l
}
