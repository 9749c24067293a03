package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/net/http/httpproxy"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
)

// maxJWKSBytes bounds a JWKS download.
const maxJWKSBytes = 1 << 20

// httpClient returns cfg.HTTPClient or builds one that honours the proxy
// environment and trusts the configured CAs.
func httpClient(cfg Config) (*http.Client, error) {
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient, nil
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("client: CA file: %w", err)
		}
		pool := cfg.RootCAs
		if pool == nil {
			if pool, err = x509.SystemCertPool(); err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
		} else {
			pool = pool.Clone()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	proxy := cfg.Proxy
	if proxy != nil {
		proxy = safeProxy(proxy)
	} else {
		// Read the environment when the client is built, not once per
		// process as http.ProxyFromEnvironment does.
		pf := httpproxy.FromEnvironment().ProxyFunc()
		proxy = func(r *http.Request) (*url.URL, error) { return pf(r.URL) }
	}
	tr := &http.Transport{
		Proxy:               proxy,
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: cfg.Timeout,
		ForceAttemptHTTP2:   true,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConns:        4,
	}
	return &http.Client{Transport: tr}, nil
}

// safeProxy is the application's Config.Proxy, called by the transport
// on the client's goroutine: a panic in it fails that connection with an
// error, as a proxy it cannot reach would, instead of ending the
// application.
func safeProxy(proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(r *http.Request) (u *url.URL, err error) {
		defer func() {
			if p := recover(); p != nil {
				u, err = nil, fmt.Errorf("client: Config.Proxy panicked: %v", p)
			}
		}()
		return proxy(r)
	}
}

func licenseClient(cfg Config, hc *http.Client) licensorv1connect.LicenseServiceClient {
	opts := []connect.ClientOption{connect.WithInterceptors(bearer.Token(cfg.Token))}
	if cfg.Protocol == Connect {
		opts = append(opts, connect.WithProtoJSON())
	} else {
		opts = append(opts, connect.WithGRPC())
	}
	return licensorv1connect.NewLicenseServiceClient(recording(hc), cfg.Server, opts...)
}

// received is a license as the server sent it, not yet verified.
type received struct {
	token      string
	serverTime time.Time
	declared   string // the environment the request declared, "" for none
}

// fetch asks the server for a fresh license, bounded by the timeout.
func (c *Client) fetch(ctx context.Context) (received, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	ctx, ri := withRespInfo(ctx)
	req := &v1.GetLicenseRequest{ContractId: c.cfg.ContractID, InstanceId: c.instanceID, Host: c.cfg.Host, Telemetry: c.telemetry(), Fingerprint: c.cfg.Fingerprint}
	res, err := c.rpc.GetLicense(ctx, connect.NewRequest(req))
	if err != nil {
		return received{}, classify(ctx, err, c.cfg, ri)
	}
	r, err := fromIssued(res.Msg.GetLicense())
	r.declared = req.GetTelemetry().GetEnvironment()
	return r, err
}

func fromIssued(l *v1.IssuedLicense) (received, error) {
	if l.GetToken() == "" {
		return received{}, &Error{Stage: StageServer, Err: licensor.Errorf(licensor.EINTERNAL, "the server sent no license")}
	}
	r := received{token: l.GetToken()}
	if ts := l.GetServerTime(); ts != nil {
		r.serverTime = ts.AsTime()
	}
	return r, nil
}

func (c *Client) telemetry() *v1.Telemetry {
	t, ok := c.userTelemetry()
	if !ok {
		return nil
	}
	if t.ProductVersion == "" && len(t.RuntimeVersions) == 0 && t.Environment == "" && t.ServerHost == "" && t.ServerIP == "" &&
		t.ServerPort == 0 && t.AppName == "" && len(t.Usage) == 0 && len(t.Labels) == 0 {
		return nil // nothing to report yet: the server records no empty point
	}
	return &v1.Telemetry{
		ProductVersion: t.ProductVersion, RuntimeVersions: t.RuntimeVersions, Environment: t.Environment,
		ServerHost: t.ServerHost, ServerIp: t.ServerIP, ServerPort: t.ServerPort, AppName: t.AppName,
		Usage: t.Usage, Labels: t.Labels,
	}
}

// userTelemetry calls Config.Telemetry, if set. It is the application's
// code run on the client's goroutine, where nothing of the application's
// recovers a panic: one sends the check without telemetry, and is logged,
// instead of ending the application.
func (c *Client) userTelemetry() (t Telemetry, ok bool) {
	if c.cfg.Telemetry == nil {
		return Telemetry{}, false
	}
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("Config.Telemetry panicked; the check goes without telemetry", "panic", p, "stack", string(debug.Stack()))
			t, ok = Telemetry{}, false
		}
	}()
	return c.cfg.Telemetry(), true
}

// fetchJWKS downloads the public keys of Config.TenantID.
func (c *Client) fetchJWKS(ctx context.Context) ([]byte, error) {
	return c.fetchTenantJWKS(ctx, c.cfg.TenantID)
}

// fetchTenantJWKS downloads a tenant's public keys.
func (c *Client) fetchTenantJWKS(ctx context.Context, tenantID string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := c.cfg.Server + licensor.JWKSPath + "?tenant=" + url.QueryEscape(tenantID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &Error{Stage: StageServer, Err: licensor.Errorf(licensor.EINVALID, "JWKS URL %s: %v", u, err)}
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, classify(ctx, err, c.cfg, nil)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes))
	if err != nil {
		return nil, classify(ctx, err, c.cfg, nil)
	}
	if res.StatusCode != http.StatusOK {
		return nil, &Error{Stage: StageServer, Err: licensor.Errorf(licensor.EUNAVAILABLE, "JWKS of tenant %s: HTTP %d: %.200s", tenantID, res.StatusCode, b)}
	}
	return b, nil
}
