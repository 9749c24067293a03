package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/rpcerr"
)

// Stage says where a check failed, so the person reading the log knows
// whether to look at DNS, the firewall, the proxy's CA or the token.
type Stage string

// Stages of a check.
const (
	StageDNS     Stage = "dns"     // the server's name does not resolve
	StageTCP     Stage = "tcp"     // no TCP connection (refused, unreachable, firewall)
	StageProxy   Stage = "proxy"   // the HTTPS proxy refused or failed the tunnel
	StageTLS     Stage = "tls"     // handshake failed: unknown CA (an intercepting proxy?), wrong name
	StageTimeout Stage = "timeout" // no answer within Config.Timeout
	StageAuth    Stage = "auth"    // the server refused the token or the contract
	StageServer  Stage = "server"  // the server answered with another error
	StageVerify  Stage = "verify"  // the license received does not verify
)

// Error is the error of a failed check: the stage that failed and the domain
// error (licensor.ErrorCode, licensor.RetryAfter and errors.As reach it).
type Error struct {
	Stage Stage
	Err   *licensor.Error
}

func (e *Error) Error() string {
	return fmt.Sprintf("licensor check failed (%s): %s", e.Stage, e.Err.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// StageOf returns the stage at which err failed, or "" if err is not a
// check error.
func StageOf(err error) Stage {
	var e *Error
	if errors.As(err, &e) {
		return e.Stage
	}
	return ""
}

// FromConnect maps an error returned by a connect client back to a
// *licensor.Error: the domain code (from the Licensor-Error-Code metadata,
// else the inverse of the server's code table), the server's message and
// its retry hint. Network failures become EUNAVAILABLE. The contract is
// package rpcerr's, shared with the server.
func FromConnect(err error) *licensor.Error { return rpcerr.Decode(err) }

// classify turns the error of a call to the server into an *Error naming
// the stage that failed and saying what to look at.
// ri, if not nil, is what the HTTP layer saw of the response.
func classify(ctx context.Context, err error, server string, timeout time.Duration, ri *respInfo) *Error {
	de := FromConnect(err)
	status := 0
	if ri != nil {
		var hint time.Duration
		if status, hint = ri.get(); de.RetryAfter == 0 {
			de.RetryAfter = hint
		}
	}
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
	)
	// The transport's dial and TLS handshake timeouts are Config.Timeout
	// too, and race the call's own deadline: whichever fires first, the
	// server did not answer in time. (A DNS timeout stays a DNS problem.)
	var netErr net.Error
	transportTimeout := errors.As(err, &netErr) && netErr.Timeout() && !errors.As(err, &dnsErr)
	stage, hint := StageServer, ""
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		connect.CodeOf(err) == connect.CodeDeadlineExceeded && ctx.Err() != nil || transportTimeout:
		stage = StageTimeout
		de = &licensor.Error{Code: licensor.EUNAVAILABLE, Message: fmt.Sprintf("no answer from %s within %s", server, timeout), Err: err}
		return &Error{Stage: stage, Err: de}
	case errors.As(err, &dnsErr):
		stage, hint = StageDNS, fmt.Sprintf("cannot resolve %s", dnsErr.Name)
	case errors.As(err, &certErr), errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &invErr):
		stage, hint = StageTLS, "the server's certificate is not trusted (behind a TLS-intercepting proxy? give its CA bundle with Config.CAFile)"
	case errors.As(err, &recErr), errors.As(err, &alert):
		stage, hint = StageTLS, "TLS handshake failed (is this a TLS port? does a proxy interfere?)"
	case errors.As(err, &opErr) && opErr.Op == "proxyconnect":
		stage, hint = StageProxy, "cannot reach the HTTPS proxy (check HTTPS_PROXY)"
	case strings.Contains(err.Error(), "proxyconnect") || strings.Contains(err.Error(), "Proxy Authentication Required"):
		stage, hint = StageProxy, "the HTTPS proxy refused the tunnel (check HTTPS_PROXY, NO_PROXY and the proxy's rules)"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		stage, hint = StageTCP, "cannot connect (is the server running, the port open, a firewall in the way?)"
	case de.Code == licensor.EUNAUTHORIZED || de.Code == licensor.EFORBIDDEN:
		stage = StageAuth
	case status != 0 && status != http.StatusOK && !rpcerr.FromServer(err):
		// An HTTP error from something in front of the server (a load
		// balancer, a proxy): the network works, the service does not.
		de.Message = fmt.Sprintf("%s answered HTTP %d: %s", server, status, de.Message)
	case status == 0 && de.Code == licensor.EUNAVAILABLE && connect.CodeOf(err) == connect.CodeUnavailable && !rpcerr.FromServer(err):
		stage, hint = StageTCP, "the connection failed"
	}
	if hint != "" {
		de = &licensor.Error{Code: licensor.EUNAVAILABLE, Message: fmt.Sprintf("%s: %s: %s", server, hint, cause(err)), RetryAfter: de.RetryAfter, Err: err}
	}
	return &Error{Stage: stage, Err: de}
}

// cause is the innermost message of err, the part that names the problem.
func cause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		if _, ok := u.(*net.OpError); ok {
			return u.Error()
		}
		err = u
	}
}

// verifyError wraps a verification failure of a license the server sent.
func verifyError(err error) *Error {
	var le *licensor.Error
	if !errors.As(err, &le) {
		le = &licensor.Error{Code: licensor.EINVALID, Message: err.Error(), Err: err}
	}
	return &Error{Stage: StageVerify, Err: le}
}
