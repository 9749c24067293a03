package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
)

// resolve fills server, token and CA from --demo-file where not given.
func (g *Globals) resolve() error {
	if g.DemoFile != "" {
		d, err := readDemoFile(g.DemoFile)
		if err != nil {
			return fmt.Errorf("--demo-file: %w", err)
		}
		if g.Server == "" {
			g.Server = d.Server
		}
		if g.Token == "" {
			g.Token = d.AdminToken
		}
		if g.CACert == "" {
			g.CACert = d.CACert
		}
	}
	if g.Server == "" {
		return errors.New("no server: give --server (or LICENSOR_SERVER, or --demo-file)")
	}
	if !strings.HasPrefix(g.Server, "https://") && !strings.HasPrefix(g.Server, "http://") {
		g.Server = "https://" + g.Server
	}
	if g.Token == "" {
		return errors.New("no token: give --token (or LICENSOR_TOKEN, or --demo-file)")
	}
	return nil
}

// httpClient returns an HTTP/2-capable client trusting --ca-cert (or the
// system roots) and honouring HTTPS_PROXY/NO_PROXY.
func (g *Globals) httpClient() (*http.Client, error) {
	tlsCfg, err := g.tlsConfig()
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// tlsConfig trusts --ca-cert, or the system's roots without it.
func (g *Globals) tlsConfig() (*tls.Config, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if g.CACert != "" {
		pem, err := os.ReadFile(g.CACert)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate in it", g.CACert)
		}
		tlsCfg.RootCAs = pool
	}
	return tlsCfg, nil
}

// adminClient returns an AdminService client from the global flags.
func (g *Globals) adminClient() (licensorv1connect.AdminServiceClient, error) {
	if err := g.resolve(); err != nil {
		return nil, err
	}
	hc, err := g.httpClient()
	if err != nil {
		return nil, err
	}
	return licensorv1connect.NewAdminServiceClient(hc, g.Server, connect.WithGRPC(), connect.WithInterceptors(bearer.Token(g.Token))), nil
}

// cliError turns an RPC error into one clear line: the status code a
// script can match on, and the server's message.
func cliError(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %s", strings.ToUpper(ce.Code().String()), ce.Message())
	}
	return err
}
