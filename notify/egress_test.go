package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
)

// fakeDNS answers names from a table and counts the questions; no real
// resolver is ever asked.
type fakeDNS struct {
	mu    sync.Mutex
	names map[string][]netip.Addr
	asked int
}

func newFakeDNS(names map[string][]string) *fakeDNS {
	f := &fakeDNS{names: map[string][]netip.Addr{}}
	for name, addrs := range names {
		for _, a := range addrs {
			f.names[name] = append(f.names[name], netip.MustParseAddr(a))
		}
	}
	return f
}

func (f *fakeDNS) LookupIP(_ context.Context, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	if a, ok := f.names[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (f *fakeDNS) questions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked
}

// acceptWatch is a listener on 127.0.0.1 that records every connection it
// accepts, in order.
type acceptWatch struct {
	ln    net.Listener
	conns chan net.Conn
}

func newAcceptWatch(t *testing.T) *acceptWatch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &acceptWatch{ln: ln, conns: make(chan net.Conn, 100)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(w.conns)
				return
			}
			w.conns <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for c := range w.conns {
			_ = c.Close()
		}
	})
	return w
}

func (w *acceptWatch) port() string {
	_, port, _ := net.SplitHostPort(w.ln.Addr().String())
	return port
}

// assertNoneAccepted proves that nothing connected before now: it connects
// a sentinel and checks that the first connection the listener accepts is
// the sentinel (the kernel hands connections over in the order they were
// made, so any earlier one would come first).
func (w *acceptWatch) assertNoneAccepted(t *testing.T) {
	t.Helper()
	s, err := net.Dial("tcp", w.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write([]byte("S")); err != nil {
		t.Fatal(err)
	}
	first := <-w.conns
	defer first.Close()
	b := make([]byte, 1)
	if _, err := io.ReadFull(first, b); err != nil || b[0] != 'S' {
		t.Fatalf("first accepted connection: got one that sent %q (%v), want the sentinel: a refused destination was connected to", b, err)
	}
}

// Refused destinations are refused before any connection: a listener on
// 127.0.0.1 sees nothing, whether the URL names the address, a spelling of
// it or a name that resolves to it, and the tenant's category names no
// address.
func TestEgressRefusesBeforeConnecting(t *testing.T) {
	w := newAcceptWatch(t)
	dns := newFakeDNS(map[string][]string{
		"loopback.test":    {"127.0.0.1"},
		"mapped.test":      {"::ffff:127.0.0.1"},
		"private.test":     {"10.0.0.1"},
		"metadata.test":    {"169.254.169.254"},
		"all-refused.test": {"10.0.0.1", "127.0.0.1", "::1"},
	})
	var refusedMu sync.Mutex
	var refusedAddrs []netip.Addr
	e := NewEgress(EgressConfig{Policy: licensor.WebhookPolicy{AllowHTTP: true}, LookupIP: dns.LookupIP,
		Refused: func(a netip.Addr, _ licensor.ReservedRange) {
			refusedMu.Lock()
			defer refusedMu.Unlock()
			refusedAddrs = append(refusedAddrs, a)
		}})
	for _, host := range []string{"127.0.0.1", "[::ffff:127.0.0.1]", "loopback.test", "mapped.test", "private.test", "metadata.test", "all-refused.test"} {
		t.Run(host, func(t *testing.T) {
			refusedMu.Lock()
			refusedAddrs = nil
			refusedMu.Unlock()
			res, err := e.Client().Post("http://"+host+":"+w.port()+"/hook", "application/json", strings.NewReader("{}"))
			if err == nil {
				res.Body.Close()
				t.Fatalf("POST to %s: got %s, want refused", host, res.Status)
			}
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("POST to %s: got %v, want a *RefusedError", host, err)
			}
			if got := Category(err); got != FailNotAllowed {
				t.Errorf("category: got %q, want %q", got, FailNotAllowed)
			}
			refusedMu.Lock()
			defer refusedMu.Unlock()
			if len(refusedAddrs) == 0 {
				t.Error("Refused hook: got no call, want one per refused address")
			}
		})
	}
	w.assertNoneAccepted(t)
	if got := dns.questions(); got != 5 {
		t.Errorf("DNS questions: got %d, want 5 (one per name, none for literals)", got)
	}
}

// A name is resolved and checked when the request is sent, not when the
// webhook is registered: a name that passed registration and then resolves
// to the server's own network (DNS rebinding) is refused at dial time,
// and the connection that is made goes to the address that was checked.
func TestEgressChecksTheAddressItDials(t *testing.T) {
	w := newAcceptWatch(t)
	dns := newFakeDNS(map[string][]string{"rebind.test": {"127.0.0.1"}})
	strict := licensor.WebhookPolicy{AllowHTTP: true}
	url := "http://rebind.test:" + w.port() + "/hook"
	if err := strict.CheckURL(url); err != nil {
		t.Fatalf("registration check of %s: got %v, want accepted (names are checked when dialed)", url, err)
	}
	if got := dns.questions(); got != 0 {
		t.Fatalf("DNS questions at registration: got %d, want 0", got)
	}
	e := NewEgress(EgressConfig{Policy: strict, LookupIP: dns.LookupIP})
	res, err := e.Client().Post(url, "application/json", strings.NewReader("{}"))
	if err == nil {
		res.Body.Close()
		t.Fatalf("POST: got %s, want refused", res.Status)
	}
	if got := Category(err); got != FailNotAllowed {
		t.Errorf("category: got %q, want %q", got, FailNotAllowed)
	}
	if got := dns.questions(); got != 1 {
		t.Errorf("DNS questions at dial: got %d, want 1", got)
	}
	w.assertNoneAccepted(t)

	// With private destinations allowed, the same name is dialed and the
	// listener sees the request.
	open := NewEgress(EgressConfig{Policy: licensor.WebhookPolicy{AllowPrivate: true, AllowHTTP: true}, LookupIP: dns.LookupIP})
	done := make(chan error, 1)
	go func() {
		res, err := open.Client().Post(url, "application/json", strings.NewReader("{}"))
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	c := <-w.conns
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "POST" {
		t.Fatalf("allowed dial: got %q (%v), want the POST", b, err)
	}
	_, _ = c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
	if err := <-done; err != nil {
		t.Fatalf("allowed POST: %v", err)
	}
	_ = c.Close()
	open.CloseIdleConnections()
}

// newTestDispatcher is a Dispatcher whose send can be called alone: no
// store, a real sealer, the given egress.
func newTestDispatcher(t *testing.T, e *Egress, policy licensor.WebhookPolicy, timeout time.Duration) (*Dispatcher, func(url string) *licensor.Delivery) {
	t.Helper()
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	sealer, err := signing.NewSealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealer.SealSecret("whk_1", []byte("whsec_"+strings.Repeat("A", 44)))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(DispatcherConfig{Sealer: sealer, Egress: e, Policy: policy, RequestTimeout: timeout})
	return d, func(url string) *licensor.Delivery {
		return &licensor.Delivery{ID: "dlv_1", WebhookID: "whk_1", EventID: "evt_1", URL: url, SecretSealed: sealed, Body: []byte("{}")}
	}
}

// Each way an attempt to an allowed destination fails is recorded as its
// category, and none carries the address or the raw error.
func TestSendFailureCategories(t *testing.T) {
	private := licensor.WebhookPolicy{AllowPrivate: true}
	status := func(code int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code/100 == 3 {
				http.Redirect(w, r, "https://127.0.0.1:1/elsewhere", code)
				return
			}
			w.WriteHeader(code)
		})
	}
	block := make(chan struct{})
	newTLS := func(h http.Handler) *httptest.Server {
		s := httptest.NewUnstartedServer(h)
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
		s.StartTLS()
		t.Cleanup(s.Close)
		return s
	}
	ok, redirect, notFound, failing := newTLS(status(204)), newTLS(status(302)), newTLS(status(404)), newTLS(status(503))
	slow := newTLS(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	t.Cleanup(func() { close(block) }) // before slow.Close, which waits for its handler
	plain := httptest.NewServer(status(204))
	t.Cleanup(plain.Close)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "https://" + closed.Addr().String()
	_ = closed.Close()
	roots := x509.NewCertPool()
	for _, s := range []*httptest.Server{ok, redirect, notFound, failing, slow} {
		roots.AddCert(s.Certificate())
	}
	dns := newFakeDNS(map[string][]string{"receiver.test": {"127.0.0.1"}})
	trusting := NewEgress(EgressConfig{Policy: private, LookupIP: dns.LookupIP, TLSConfig: &tls.Config{RootCAs: roots}})
	untrusting := NewEgress(EgressConfig{Policy: private, LookupIP: dns.LookupIP})
	port := func(s *httptest.Server) string { return s.URL[strings.LastIndexByte(s.URL, ':'):] }

	cases := []struct {
		name     string
		egress   *Egress
		timeout  time.Duration
		url      string
		want     string // "" for success
		wantCode int
	}{
		{"OK", trusting, time.Minute, ok.URL, "", 204},
		{"OKByName", trusting, time.Minute, "https://receiver.test" + port(ok), "TLS: the certificate does not name the host", 0},
		{"Redirect", trusting, time.Minute, redirect.URL, "redirect not followed (HTTP 302): register the final URL", 302},
		{"ClientError", trusting, time.Minute, notFound.URL, "HTTP 404: the endpoint refused the request", 404},
		{"ServerError", trusting, time.Minute, failing.URL, "HTTP 503: the endpoint failed", 503},
		{"Untrusted", untrusting, time.Minute, ok.URL, FailTLSUntrusted, 0},
		{"ConnectionRefused", trusting, time.Minute, closedURL, FailRefused, 0},
		{"Timeout", trusting, 50 * time.Millisecond, slow.URL, FailTimeout, 0},
		{"DNS", trusting, time.Minute, "https://missing.test/hook", FailDNS, 0},
		{"PlainHTTPRefused", trusting, time.Minute, plain.URL, FailPolicy, 0},
		{"MetadataRefused", trusting, time.Minute, "https://169.254.169.254/latest", FailPolicy, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, delivery := newTestDispatcher(t, c.egress, private, c.timeout)
			code, err := d.send(context.Background(), delivery(c.url))
			got := Category(err)
			if c.want == "" {
				if err != nil || code != c.wantCode {
					t.Fatalf("send: got %d, %v; want %d, no error", code, err, c.wantCode)
				}
				return
			}
			if !strings.HasPrefix(got, c.want) || code != c.wantCode {
				t.Fatalf("send: got status %d, category %q (%v); want status %d, category %q", code, got, err, c.wantCode, c.want)
			}
			if strings.Contains(got, "127.0.0.1") || strings.Contains(got, "dial") {
				t.Errorf("category %q: carries an address or a raw dial error", got)
			}
		})
	}
}

// The dispatcher's own client never uses a proxy from the environment: a
// proxy would dial the destination on its behalf, past the check.
func TestEgressIgnoresEnvironmentProxy(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(proxy.Close)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	dns := newFakeDNS(map[string][]string{"private.test": {"10.0.0.1"}})
	e := NewEgress(EgressConfig{Policy: licensor.WebhookPolicy{AllowHTTP: true}, LookupIP: dns.LookupIP})
	res, err := e.Client().Post("http://private.test/hook", "application/json", strings.NewReader("{}"))
	if err == nil {
		res.Body.Close()
		t.Fatalf("POST through the environment's proxy: got %s, want refused without the proxy", res.Status)
	}
	if Category(err) != FailNotAllowed || proxied.Load() != 0 {
		t.Fatalf("POST: got %v (%d requests through the proxy), want refused and the proxy unused", err, proxied.Load())
	}
}
