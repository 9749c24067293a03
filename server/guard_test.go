package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/bench"
	"github.com/licensor/licensor/client"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/server"
)

// guarded is a server behind its real listener, http.Server and TLS, on
// 127.0.0.1:0, with the limits a test chose; testserver provides the
// service, the tokens and the certificate.
type guarded struct {
	ts   *testserver.Server
	srv  *server.Server
	reg  *prometheus.Registry
	url  string
	addr string
	tls  *tls.Config // a client's: trusts the server
	// client and proto: the client kind of a parity test (guarded.as).
	client string
	proto  testserver.Protocol
	hs     *http.Server
}

func startGuarded(t *testing.T, limits server.Limits) *guarded {
	t.Helper()
	return startGuardedConfig(t, server.Config{Limits: limits})
}

// startGuardedConfig is startGuarded with more of the server's Config
// (its Service and Registerer are the test's).
func startGuardedConfig(t *testing.T, cfg server.Config) *guarded {
	t.Helper()
	ts := testserver.Start(t)
	reg := prometheus.NewRegistry()
	cfg.Service, cfg.Registerer = ts.Service, reg
	srv := server.New(cfg)
	hs := srv.NewHTTPServer(&tls.Config{Certificates: []tls.Certificate{ts.Cert}, NextProtos: []string{"h2", "http/1.1"}}, log.New(io.Discard, "", 0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(srv.Listener(ln, hs)) }()
	t.Cleanup(func() { srv.BeginShutdown(); _ = hs.Close() })
	return &guarded{hs: hs, ts: ts, srv: srv, reg: reg, url: "https://" + ln.Addr().String(), addr: ln.Addr().String(),
		tls: &tls.Config{RootCAs: ts.CAPool, MinVersion: tls.VersionTLS12}}
}

func (g *guarded) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: g.tls.Clone(), ForceAttemptHTTP2: true}}
}

func (g *guarded) license(p testserver.Protocol, token string, opts ...connect.ClientOption) licensorv1connect.LicenseServiceClient {
	return licensorv1connect.NewLicenseServiceClient(g.httpClient(), g.url, append(testserver.ClientOptions(p, token), opts...)...)
}

// grpcConn is a grpc-go client connection to the server.
func (g *guarded) grpcConn(t *testing.T) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(g.tls.Clone())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// metric reads a counter or gauge from the server's registry (the first
// series whose labels include labels).
func (g *guarded) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue series
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s%v not registered", name, labels)
	return 0
}

func getLicenseGRPC(ctx context.Context, cc *grpc.ClientConn, token string, req *v1.GetLicenseRequest, opts ...grpc.CallOption) error {
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return cc.Invoke(ctx, licensorv1connect.LicenseServiceGetLicenseProcedure, req, new(v1.GetLicenseResponse), opts...)
}

// A request body that does not arrive within the body timeout is cut, over
// HTTP/1.1 and HTTP/2, and counted.
func TestSlowBodyCut(t *testing.T) {
	g := startGuarded(t, server.Limits{BodyTimeout: 200 * time.Millisecond})
	f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	path := licensorv1connect.LicenseServiceGetLicenseProcedure

	t.Run("HTTP1", func(t *testing.T) {
		cfg := g.tls.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		c, err := tls.Dial("tcp", g.addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", path, f.ContractToken)
		// Nothing more is sent: the server answers once the deadline passes.
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(body), "body-timeout") {
			t.Errorf("got %d %s, want 504 naming --body-timeout", res.StatusCode, body)
		}
	})
	t.Run("HTTP2", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		req, _ := http.NewRequest(http.MethodPost, g.url+path, pr)
		req.Header.Set("Authorization", "Bearer "+f.ContractToken)
		req.Header.Set("Content-Type", "application/json")
		go func() { _, _ = pw.Write([]byte("{")) }()
		res, err := g.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.ProtoMajor != 2 || res.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("got HTTP/%d %d %s, want HTTP/2 504", res.ProtoMajor, res.StatusCode, body)
		}
	})
	if got := g.metric(t, "licensor_request_body_deadline_total"); got != 2 {
		t.Errorf("body deadline hits: got %v, want 2", got)
	}
	// A watch stream outlives the body timeout (its request ended at once),
	// over HTTP/1.1 and HTTP/2: a contract change made after several body
	// timeouts still reaches it.
	for _, tc := range []struct {
		name  string
		p     testserver.Protocol
		http1 bool
	}{{"ConnectHTTP1", testserver.Connect, true}, {"GRPCHTTP2", testserver.GRPC, false}} {
		t.Run("Watch"+tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hc := g.httpClient()
			if tc.http1 {
				hc = &http.Client{Transport: &http.Transport{TLSClientConfig: g.tls.Clone()}}
			}
			lc := licensorv1connect.NewLicenseServiceClient(hc, g.url, testserver.ClientOptions(tc.p, f.ContractToken)...)
			stream, err := lc.WatchLicense(ctx, connect.NewRequest(&v1.WatchLicenseRequest{ContractId: f.ContractID, InstanceId: "w-" + tc.name}))
			if err != nil || !stream.Receive() {
				t.Fatalf("watch: %v %v", err, stream.Err())
			}
			time.Sleep(5 * 200 * time.Millisecond) // let five body timeouts pass: the point of the test
			adm := g.ts.Admin(testserver.GRPC, f.AdminToken)
			if _, err := adm.ExtendContract(ctx, connect.NewRequest(&v1.ExtendContractRequest{ContractId: f.ContractID, ExtendBy: durationpb.New(24 * time.Hour)})); err != nil {
				t.Fatal(err)
			}
			if !stream.Receive() {
				t.Errorf("watch after the body timeout: got %v, want the changed contract's license", stream.Err())
			}
		})
	}
}

// gzipBomb is a GetLicenseRequest whose host is size bytes of 'a',
// gzipped (about a thousandth of size).
func gzipBomb(t *testing.T, size int) []byte {
	t.Helper()
	msg, err := proto.Marshal(&v1.GetLicenseRequest{ContractId: "c", InstanceId: "i", Host: strings.Repeat("a", size)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(msg)
	_ = zw.Close()
	return b.Bytes()
}

// A compressed body is not inflated before the token is checked, and with
// a valid token it is inflated only up to the limit and refused with
// INVALID_ARGUMENT (which no client retries).
func TestGzipBomb(t *testing.T) {
	g := startGuarded(t, server.Limits{MaxMessageBytes: 64 << 10})
	f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	bomb := gzipBomb(t, 16<<20)
	post := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, g.url+licensorv1connect.LicenseServiceGetLicenseProcedure, bytes.NewReader(bomb))
		req.Header.Set("Content-Type", "application/proto")
		req.Header.Set("Content-Encoding", "gzip")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := g.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, tc := range []struct{ name, token string }{{"NoToken", ""}, {"BadToken", "lic_not-a-token"}} {
		t.Run("Connect"+tc.name, func(t *testing.T) {
			code, body := post(tc.token)
			if code != http.StatusUnauthorized || !strings.Contains(body, "unauthenticated") {
				t.Errorf("got %d %s, want 401 unauthenticated", code, body)
			}
		})
	}
	cc := g.grpcConn(t)
	big := &v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "i", Host: strings.Repeat("a", 16<<20)}
	t.Run("GRPCBadToken", func(t *testing.T) {
		err := getLicenseGRPC(context.Background(), cc, "lic_not-a-token", big, grpc.UseCompressor(grpcgzip.Name))
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("got %v, want Unauthenticated", err)
		}
	})
	if got := server.Inflated(g.srv); got != 0 {
		t.Errorf("inflated %d bytes for callers without a valid token, want 0", got)
	}
	if got := g.metric(t, "licensor_requests_unauthenticated_total"); got != 3 {
		t.Errorf("unauthenticated refusals: got %v, want 3", got)
	}
	t.Run("ConnectValidToken", func(t *testing.T) {
		code, body := post(f.ContractToken)
		if code != http.StatusBadRequest || !strings.Contains(body, "invalid_argument") || !strings.Contains(body, "65536 bytes") {
			t.Errorf("got %d %s, want 400 invalid_argument naming 65536 bytes", code, body)
		}
	})
	t.Run("GRPCValidToken", func(t *testing.T) {
		err := getLicenseGRPC(context.Background(), cc, f.ContractToken, big, grpc.UseCompressor(grpcgzip.Name))
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "65536 bytes") {
			t.Errorf("got %v, want InvalidArgument naming 65536 bytes", err)
		}
	})
	if got, limit := server.Inflated(g.srv), int64(2*(64<<10+1)); got > limit {
		t.Errorf("inflated %d bytes for two bombs, want at most %d", got, limit)
	}
	if got := g.metric(t, "licensor_request_body_too_large_total"); got != 2 {
		t.Errorf("too-large refusals: got %v, want 2", got)
	}
}

// An oversized message answers INVALID_ARGUMENT naming the limit, in both
// protocols, whether its size is announced or not.
func TestOversizedRequest(t *testing.T) {
	g := startGuarded(t, server.Limits{MaxMessageBytes: 4096})
	f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	req := &v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "i", Host: strings.Repeat("h", 8192)}
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			_, err := g.license(p, f.ContractToken).GetLicense(context.Background(), connect.NewRequest(req))
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "4096 bytes") {
				t.Errorf("got %v, want invalid_argument naming 4096 bytes", err)
			}
		})
	}
	t.Run("grpc-go", func(t *testing.T) {
		err := getLicenseGRPC(context.Background(), g.grpcConn(t), f.ContractToken, req)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("got %v, want InvalidArgument", err)
		}
	})
	if _, err := g.license(testserver.GRPC, f.ContractToken).GetLicense(context.Background(),
		connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "i", Host: "node"})); err != nil {
		t.Errorf("a request under the limit: %v", err)
	}
}

// The client library sends an oversized request once: INVALID_ARGUMENT is
// not worth a retry, to it or to the bench's policy.
func TestOversizedNotRetriedByClient(t *testing.T) {
	g := startGuarded(t, server.Limits{MaxMessageBytes: 4096})
	f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	c, err := client.New(client.Config{Server: g.url, ContractID: f.ContractID, Token: f.ContractToken, TenantID: f.TenantID,
		InstanceID: "big", Host: strings.Repeat("h", 8192), HTTPClient: g.httpClient()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Refresh(context.Background())
	if code := licensor.ErrorCode(err); code != licensor.EINVALID || !strings.Contains(licensor.ErrorMessage(err), "4096 bytes") {
		t.Fatalf("refresh: got %s %v, want invalid naming 4096 bytes", code, err)
	}
	if got := g.metric(t, "licensor_request_body_too_large_total"); got != 1 {
		t.Errorf("requests over the limit: got %v, want 1 (no retry)", got)
	}
	_, rerr := g.license(testserver.GRPC, f.ContractToken).GetLicense(context.Background(),
		connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "big", Host: strings.Repeat("h", 8192)}))
	if bench.Retryable(rerr) {
		t.Errorf("bench.Retryable(%v): got true, want false", rerr)
	}
}
