package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/licensor/licensor"
)

// EgressConfig tunes an Egress.
type EgressConfig struct {
	// Policy is what destinations are allowed (the zero value: public
	// addresses over https only).
	Policy licensor.WebhookPolicy
	// LookupIP resolves a host name; default net.DefaultResolver. Tests
	// inject one so that no real DNS is asked.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// TLSConfig, if set, is the client TLS configuration (tests trust
	// their receivers' certificates with it); default: the system roots.
	TLSConfig *tls.Config
	// Refused, if set, is called with each address refused at dial time.
	Refused func(addr netip.Addr, r licensor.ReservedRange)
}

// Egress is the only way a webhook request leaves the server. Every
// connection goes through one net.Dialer whose Control function refuses an
// address the policy does not allow, after the name was resolved and
// before the socket connects: a name that resolves to a private address,
// at registration or only later (DNS rebinding), is never dialed. Its HTTP
// client follows no redirect (a 3xx is a failed attempt) and uses no proxy
// from the environment (a proxy would dial on our behalf, past the check).
type Egress struct {
	cfg    EgressConfig
	dialer *net.Dialer
	client *http.Client
}

// NewEgress returns an Egress.
func NewEgress(cfg EgressConfig) *Egress {
	if cfg.LookupIP == nil {
		cfg.LookupIP = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	e := &Egress{cfg: cfg}
	e.dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: e.control}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsCfg = cfg.TLSConfig.Clone()
	}
	tr := &http.Transport{
		Proxy:                  nil, // never the environment's: see the type's comment
		DialContext:            e.DialContext,
		TLSClientConfig:        tlsCfg,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	e.client = &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e
}

// Client returns the HTTP client that sends webhooks.
func (e *Egress) Client() *http.Client { return e.client }

// CloseIdleConnections closes the client's idle connections.
func (e *Egress) CloseIdleConnections() { e.client.CloseIdleConnections() }

// RefusedError is a destination the policy refused; nothing was dialed.
// Its text (for the server log) names the address; a tenant is only told
// "destination not allowed".
type RefusedError struct {
	Host  string
	Addr  netip.Addr
	Range licensor.ReservedRange
}

func (e *RefusedError) Error() string {
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("destination %s (%s) is a %s address: refused by the webhook policy", e.Host, e.Addr, e.Range.Name)
	}
	return fmt.Sprintf("destination %s is a %s address: refused by the webhook policy", e.Addr, e.Range.Name)
}

// control runs after the socket is made and before it connects: the last
// point at which the address is known and nothing has been sent.
func (e *Egress) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("webhook egress: network %s refused", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook egress: address %q: %w", address, err)
	}
	if r, ok := e.cfg.Policy.AllowsAddr(ap.Addr()); !ok {
		if e.cfg.Refused != nil {
			e.cfg.Refused(ap.Addr(), r)
		}
		return &RefusedError{Addr: ap.Addr(), Range: r}
	}
	return nil
}

// DialContext resolves address's host with LookupIP and dials its
// addresses in turn, each through the checking dialer; refused ones are
// skipped without a connection. It fails with a *RefusedError when every
// address was refused.
func (e *Egress) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("webhook egress: port %q: %w", portStr, err)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if addrs, err = e.cfg.LookupIP(ctx, host); err != nil {
		return nil, err
	} else if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	var errs []error
	for _, a := range addrs {
		conn, err := e.dialer.DialContext(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		var refused *RefusedError
		if errors.As(err, &refused) {
			refused.Host = host
			errs = append(errs, refused)
			continue
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, pickDialError(errs)
}

// pickDialError returns the error that says most about a failed dial: a
// connection failure to an allowed address over a refusal, since the
// refusal of one of a name's addresses is not why the others failed.
func pickDialError(errs []error) error {
	var refused *RefusedError
	for _, err := range errs {
		if !errors.As(err, &refused) {
			return err
		}
	}
	return errs[0]
}
