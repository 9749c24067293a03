package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
	"github.com/licensor/licensor/rpcerr"
)

// resolve fills server, token and CA where no flag or LICENSOR_* variable
// gave them: from --demo-file if given, else from the config file's context
// (--context, or the current one). A token of the form env:NAME or
// file:PATH is read from there.
func (g *Globals) resolve() error {
	if g.resolved {
		return nil
	}
	if g.DemoFile != "" {
		d, err := readDemoFile(g.DemoFile)
		if err != nil {
			return fmt.Errorf("--demo-file: %w", err)
		}
		g.Server, g.Token, g.CACert = firstOf(g.Server, d.Server), firstOf(g.Token, d.AdminToken), firstOf(g.CACert, d.CACert)
	} else if g.Server == "" || g.Token == "" || g.CACert == "" {
		p, err := g.context()
		if err != nil {
			return err
		}
		if p != nil && (g.Server == "" || g.Server == p.Server) {
			// A context's CA and token belong to its server: they fill
			// in only for that server.
			g.Server, g.Token, g.CACert = firstOf(g.Server, p.Server), firstOf(g.Token, p.Token), firstOf(g.CACert, p.CACert)
		}
	}
	if g.Server == "" {
		return usageError(errors.New("no server: give --server (or LICENSOR_SERVER, --demo-file, or licensor login once)"))
	}
	if !strings.HasPrefix(g.Server, "https://") && !strings.HasPrefix(g.Server, "http://") {
		g.Server = "https://" + g.Server
	}
	if g.Token == "" {
		return usageError(errors.New("no token: give --token (or LICENSOR_TOKEN, --demo-file, or licensor login once)"))
	}
	tok, err := readToken(g.Token)
	if err != nil {
		return usageError(err)
	}
	g.Token, g.resolved = tok, true
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
// script can match on and the server's message, or, when the server was
// never reached, what to check (client.Diagnose, the same hints as the
// agent and the client library give). The exit code follows the status.
func (g *Globals) cliError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	if !rpcerr.FromServer(err) {
		if _, hint := client.Diagnose(ctx, err, g.Server, client.CLINames); hint != "" {
			return exitError{ExitError, errors.New(hint)}
		}
	}
	return exitError{exitCode(err), fmt.Errorf("%s: %s", strings.ToUpper(ce.Code().String()), ce.Message())}
}
