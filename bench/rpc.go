package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// Client stacks the simulated fleet can speak through.
const (
	// ClientGRPCGo is google.golang.org/grpc, the reference gRPC
	// implementation (what ghz and most gRPC fleets use). Its transport
	// writes a call's HEADERS and DATA, and those of other calls queued
	// behind them, in one TLS record and one write: the cheapest client
	// for a generator that shares the server's cores.
	ClientGRPCGo = "grpc-go"
	// ClientConnectGo is connectrpc.com/connect on net/http, the stack the
	// Licensor client library embeds in vendors' products. Its HTTP/2
	// transport flushes a call's headers and its body separately.
	ClientConnectGo = "connect-go"
)

// rpcs is what the fleet calls: one connection's worth of client.
type rpcs interface {
	GetLicense(ctx context.Context, req *v1.GetLicenseRequest) error
	RequestCapabilities(ctx context.Context, req *v1.RequestCapabilitiesRequest) (*v1.RequestCapabilitiesResponse, error)
	ReturnCapabilities(ctx context.Context, req *v1.ReturnCapabilitiesRequest) error
	Close() error
}

// newRPCs opens one connection's client for cfg (defaults applied).
func newRPCs(cfg *Config) (rpcs, error) {
	if cfg.Client == ClientGRPCGo {
		return newGRPCGo(cfg)
	}
	return newConnectGo(cfg), nil
}

// connectGo speaks gRPC or the Connect protocol through connect-go.
type connectGo struct {
	hc   *http.Client
	lic  licensorv1connect.LicenseServiceClient
	caps licensorv1connect.CapabilityServiceClient
}

func newConnectGo(cfg *Config) *connectGo {
	opts := []connect.ClientOption{connect.WithInterceptors(bearer(cfg.Token))}
	if cfg.Protocol == "grpc" {
		opts = append(opts, connect.WithGRPC())
	}
	var hc *http.Client
	if cfg.NewHTTPClient != nil {
		hc = cfg.NewHTTPClient()
	} else {
		hc = &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: cfg.tlsConfig()}}
	}
	return &connectGo{
		hc:   hc,
		lic:  licensorv1connect.NewLicenseServiceClient(hc, cfg.Server, opts...),
		caps: licensorv1connect.NewCapabilityServiceClient(hc, cfg.Server, opts...),
	}
}

func (c *connectGo) GetLicense(ctx context.Context, req *v1.GetLicenseRequest) error {
	_, err := c.lic.GetLicense(ctx, connect.NewRequest(req))
	return err
}

func (c *connectGo) RequestCapabilities(ctx context.Context, req *v1.RequestCapabilitiesRequest) (*v1.RequestCapabilitiesResponse, error) {
	res, err := c.caps.RequestCapabilities(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func (c *connectGo) ReturnCapabilities(ctx context.Context, req *v1.ReturnCapabilitiesRequest) error {
	_, err := c.caps.ReturnCapabilities(ctx, connect.NewRequest(req))
	return err
}

func (c *connectGo) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// grpcGo speaks gRPC through google.golang.org/grpc, without generated
// stubs: the procedures' full names come from the Connect code and the
// messages are the same protobuf types.
type grpcGo struct {
	cc   *grpc.ClientConn
	auth metadata.MD
}

func newGRPCGo(cfg *Config) (*grpcGo, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bench: server %q: not a URL like https://host:port", cfg.Server)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("bench: server %q: grpc-go needs https (the server speaks TLS only)", cfg.Server)
	}
	if strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("bench: server %q: grpc-go cannot call under a path prefix; use --client connect-go", cfg.Server)
	}
	host := u.Host
	if u.Port() == "" {
		host += ":443"
	}
	cc, err := grpc.NewClient("passthrough:///"+host,
		grpc.WithTransportCredentials(credentials.NewTLS(cfg.tlsConfig())),
		// Fixed flow-control windows: no BDP probing pings competing with
		// the calls being measured.
		grpc.WithInitialWindowSize(1<<20),
		grpc.WithInitialConnWindowSize(4<<20),
	)
	if err != nil {
		return nil, fmt.Errorf("bench: grpc-go client for %s: %w", host, err)
	}
	return &grpcGo{cc: cc, auth: metadata.Pairs("authorization", "Bearer "+cfg.Token)}, nil
}

func (g *grpcGo) invoke(ctx context.Context, procedure string, req, res any) error {
	var header, trailer metadata.MD
	ctx = metadata.NewOutgoingContext(ctx, g.auth)
	if err := g.cc.Invoke(ctx, procedure, req, res, grpc.Header(&header), grpc.Trailer(&trailer)); err != nil {
		return fromStatus(err, header, trailer)
	}
	return nil
}

// fromStatus gives a grpc-go error the shape the rest of the generator
// reads: a *connect.Error with the status code and the response's
// metadata (where the server's retry hint travels).
func fromStatus(err error, mds ...metadata.MD) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	ce := connect.NewError(connect.Code(st.Code()), errors.New(st.Message()))
	for _, md := range mds {
		for k, vs := range md {
			for _, v := range vs {
				ce.Meta().Add(k, v)
			}
		}
	}
	return ce
}

func (g *grpcGo) GetLicense(ctx context.Context, req *v1.GetLicenseRequest) error {
	var res v1.GetLicenseResponse
	return g.invoke(ctx, licensorv1connect.LicenseServiceGetLicenseProcedure, req, &res)
}

func (g *grpcGo) RequestCapabilities(ctx context.Context, req *v1.RequestCapabilitiesRequest) (*v1.RequestCapabilitiesResponse, error) {
	res := new(v1.RequestCapabilitiesResponse)
	if err := g.invoke(ctx, licensorv1connect.CapabilityServiceRequestCapabilitiesProcedure, req, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (g *grpcGo) ReturnCapabilities(ctx context.Context, req *v1.ReturnCapabilitiesRequest) error {
	var res v1.ReturnCapabilitiesResponse
	return g.invoke(ctx, licensorv1connect.CapabilityServiceReturnCapabilitiesProcedure, req, &res)
}

func (g *grpcGo) Close() error { return g.cc.Close() }

// tlsConfig is the configured trust, or the system's.
func (c *Config) tlsConfig() *tls.Config {
	if c.TLS != nil {
		return c.TLS.Clone()
	}
	return &tls.Config{MinVersion: tls.VersionTLS12}
}
