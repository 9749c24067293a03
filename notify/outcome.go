package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// Failure categories a tenant sees in a delivery's last error. They say
// what to fix on the receiving side and nothing about the server's
// network: never a resolved address or a raw dial error (those go to the
// server log). A refused destination is never dialed, so its category
// cannot tell an open port from a closed one.
const (
	FailNotAllowed      = "destination not allowed: the webhook's host is not a public address (see the server's webhook policy)"
	FailPolicy          = "destination not allowed: the URL is refused by the server's webhook policy (creating a webhook with it says why)"
	FailDNS             = "DNS: the host name did not resolve"
	FailRefused         = "connection refused"
	FailUnreachable     = "destination unreachable"
	FailTimeout         = "timeout: no answer in time"
	FailTLSUntrusted    = "TLS: the certificate is not trusted (unknown or self-signed issuer)"
	FailTLSHost         = "TLS: the certificate does not name the host"
	FailTLSInvalid      = "TLS: the certificate is expired, not yet valid or invalid"
	FailTLS             = "TLS: the handshake failed"
	FailConnectionLost  = "connection closed by the endpoint"
	FailRequest         = "request failed"
	FailServer          = "the server could not sign the event; its operator has the detail"
	failRedirectFormat  = "redirect not followed (HTTP %d): register the final URL"
	failHTTPClientError = "HTTP %d: the endpoint refused the request"
	failHTTPServerError = "HTTP %d: the endpoint failed"
	failHTTPOther       = "HTTP %d: not a 2xx answer"
)

// statusError is a received answer that is not a 2xx.
type statusError struct {
	code   int
	status string
}

func (e *statusError) Error() string { return "endpoint answered " + e.status }

// policyError is a URL the policy refuses as written (an operator
// tightened the policy after the webhook was registered); nothing is dialed.
type policyError struct{ err error }

func (e *policyError) Error() string { return e.err.Error() }
func (e *policyError) Unwrap() error { return e.err }

// serverError is a failure of this server before anything was sent.
type serverError struct{ err error }

func (e *serverError) Error() string { return e.err.Error() }
func (e *serverError) Unwrap() error { return e.err }

// Category is what a delivery records of a failed attempt (see the Fail
// constants): err's kind, never its detail.
func Category(err error) string {
	var (
		status    *statusError
		policy    *policyError
		server    *serverError
		refused   *RefusedError
		dnsErr    *net.DNSError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
		netErr    net.Error
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &status):
		switch {
		case status.code >= 300 && status.code < 400:
			return fmt.Sprintf(failRedirectFormat, status.code)
		case status.code >= 400 && status.code < 500:
			return fmt.Sprintf(failHTTPClientError, status.code)
		case status.code >= 500 && status.code < 600:
			return fmt.Sprintf(failHTTPServerError, status.code)
		}
		return fmt.Sprintf(failHTTPOther, status.code)
	case errors.As(err, &server):
		return FailServer
	case errors.As(err, &policy):
		return FailPolicy
	case errors.As(err, &refused):
		return FailNotAllowed
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return FailTimeout
		}
		return FailDNS
	case errors.As(err, &unknownCA):
		return FailTLSUntrusted
	case errors.As(err, &hostErr):
		return FailTLSHost
	case errors.As(err, &certErr):
		return FailTLSInvalid
	case errors.As(err, &verifyErr), errors.As(err, &recordErr), errors.As(err, &alertErr):
		return FailTLS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return FailTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return FailRefused
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return FailUnreachable
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return FailConnectionLost
	}
	return FailRequest
}
