package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// SettingNames are what connection hints call the two settings a person
// changes to fix a connection: the server's URL and the CA to trust. A
// program's log says Config.Server; the command line says --server.
type SettingNames struct {
	Server string // e.g. "--server" or "Config.Server"
	CAFile string // e.g. "--ca-cert" or "Config.CAFile"
}

// Names of the settings in the Go API and on licensor's command line.
var (
	LibraryNames = SettingNames{Server: "Config.Server", CAFile: "Config.CAFile"}
	CLINames     = SettingNames{Server: "--server", CAFile: "--ca-cert"}
)

// Diagnose says why a connection to server failed, in one line a person
// can act on, and at which stage: the server not running (or the URL's
// port wrong), http:// where TLS is served (or the reverse), a CA that
// does not sign the server's certificate, a certificate that does not
// name the host, DNS, or the proxy. It returns "" as the hint when err is
// not a failure to connect (the server answered). The CLI, the agent and
// the client library all print these hints, so one fix reads the same
// everywhere.
//
// When server is http:// and the connection failed, Diagnose dials the
// host once with TLS (bounded by ctx and a second) to tell a TLS port apart
// from a broken one.
func Diagnose(ctx context.Context, err error, server string, names SettingNames) (Stage, string) {
	if err == nil {
		return "", ""
	}
	if names.Server == "" {
		names = LibraryNames
	}
	u, _ := url.Parse(server)
	host := server
	if u != nil && u.Host != "" {
		host = u.Host
	}
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
	)
	switch {
	case errors.As(err, &dnsErr):
		return StageDNS, fmt.Sprintf("cannot resolve %s (is the host name in %s right?)", dnsErr.Name, names.Server)
	case errors.As(err, &uaErr):
		return StageTLS, fmt.Sprintf("%s's certificate is not trusted: an unknown authority signed it (pass the server's CA certificate with %s; behind a TLS-intercepting proxy, the proxy's CA)", host, names.CAFile)
	case errors.As(err, &hostErr):
		return StageTLS, fmt.Sprintf("%s's certificate is not valid for %s, only for %s (put one of those names in %s, or reissue the certificate with this one)", host, hostErr.Host, certNames(hostErr.Certificate), names.Server)
	case errors.As(err, &invErr):
		return StageTLS, fmt.Sprintf("%s's certificate is not valid: %s (check the server's certificate and this machine's clock)", host, invalidReason(invErr))
	case errors.As(err, &certErr):
		return StageTLS, fmt.Sprintf("%s's certificate could not be verified: %v (pass the server's CA certificate with %s)", host, certErr.Err, names.CAFile)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http reports a plain-HTTP answer to a handshake this way,
		// without the tls.RecordHeaderError.
		return StageTLS, fmt.Sprintf("%s answers plain HTTP, not TLS (is the port in %s right? should it be http://?)", host, names.Server)
	case errors.As(err, &recErr):
		if string(recErr.RecordHeader[:]) == "HTTP/" {
			return StageTLS, fmt.Sprintf("%s answers plain HTTP, not TLS (is the port in %s right? is the server behind a TLS-terminating proxy whose address you should use?)", host, names.Server)
		}
		return StageTLS, fmt.Sprintf("%s does not speak TLS (is the port in %s right?)", host, names.Server)
	case errors.As(err, &alert):
		return StageTLS, fmt.Sprintf("%s refused the TLS handshake: %v (does it want a client certificate? does a proxy interfere?)", host, alert)
	case errors.As(err, &opErr) && opErr.Op == "proxyconnect":
		return StageProxy, "cannot reach the HTTPS proxy (check HTTPS_PROXY)"
	case strings.Contains(err.Error(), "proxyconnect") || strings.Contains(err.Error(), "Proxy Authentication Required"):
		return StageProxy, "the HTTPS proxy refused the tunnel (check HTTPS_PROXY, NO_PROXY and the proxy's rules)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return StageTCP, fmt.Sprintf("cannot connect to %s: nothing listens there (is the server running? is %s right?)", host, names.Server)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return StageTCP, fmt.Sprintf("cannot connect to %s: %v (is the server running? is %s right? a firewall in the way?)", host, opErr.Err, names.Server)
	}
	if u != nil && u.Scheme == "http" && speaksTLS(ctx, host) {
		return StageTLS, fmt.Sprintf("%s serves TLS, not plain HTTP (use https:// in %s)", host, names.Server)
	}
	return "", ""
}

// speaksTLS reports whether a TLS handshake with host succeeds, trusting
// any certificate: it only asks which protocol the port speaks.
func speaksTLS(ctx context.Context, host string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // a probe of the protocol; nothing is sent
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "other names"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	if len(names) == 0 {
		return "no host name"
	}
	return strings.Join(names, ", ")
}

func invalidReason(e x509.CertificateInvalidError) string {
	if e.Reason == x509.Expired {
		return "expired or not yet valid"
	}
	return e.Error()
}
