package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
func classify(ctx context.Context, err error, cfg Config, ri *respInfo) *Error {
	de := FromConnect(err)
	status := 0
	if ri != nil {
		var hint time.Duration
		if status, hint = ri.get(); de.RetryAfter == 0 {
			de.RetryAfter = hint
		}
	}
	var dnsErr *net.DNSError
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
		de = &licensor.Error{Code: licensor.EUNAVAILABLE, Message: fmt.Sprintf("no answer from %s within %s", cfg.Server, cfg.Timeout), Err: err}
		return &Error{Stage: stage, Err: de}
	case de.Code == licensor.EUNAUTHORIZED || de.Code == licensor.EFORBIDDEN:
		stage = StageAuth
	case rpcerr.FromServer(err):
	case status != 0 && status != http.StatusOK:
		// An HTTP error from something in front of the server (a load
		// balancer, a proxy), or plain HTTP sent to a TLS port: the
		// network works, the service does not.
		if s, h := Diagnose(ctx, err, cfg.Server, cfg.SettingNames); h != "" {
			stage, hint = s, h
			break
		}
		de.Message = fmt.Sprintf("%s answered HTTP %d: %s", cfg.Server, status, de.Message)
	default:
		if s, h := Diagnose(ctx, err, cfg.Server, cfg.SettingNames); h != "" {
			stage, hint = s, h
		} else if status == 0 && de.Code == licensor.EUNAVAILABLE && connect.CodeOf(err) == connect.CodeUnavailable {
			stage, hint = StageTCP, fmt.Sprintf("the connection to %s failed", cfg.Server)
		}
	}
	if hint != "" {
		de = &licensor.Error{Code: licensor.EUNAVAILABLE, Message: fmt.Sprintf("%s: %s", hint, cause(err)), RetryAfter: de.RetryAfter, Err: err}
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
