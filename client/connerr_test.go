package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// TestDiagnose: each way of pointing a client at the wrong place, against
// a real listener on 127.0.0.1, gets its own stage and a hint naming the
// setting to fix, for both the gRPC and the Connect protocol.
func TestDiagnose(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.EnableHTTP2 = true
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failures are the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + ln.Addr().String()
	ln.Close() // nothing listens there any more

	trusted := x509.NewCertPool()
	trusted.AddCert(tlsSrv.Certificate())
	_, port, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())

	cases := []struct {
		name   string
		server string
		roots  *x509.CertPool // nil: the system's
		stage  Stage
		hint   []string
	}{
		{"ServerDown", down, trusted, StageTCP, []string{"nothing listens", "is the server running?", "--server"}},
		{"HTTPWhereTLS", strings.Replace(tlsSrv.URL, "https://", "http://", 1), trusted, StageTLS, []string{"serves TLS", "use https://"}},
		{"HTTPSWherePlain", strings.Replace(plain.URL, "http://", "https://", 1), trusted, StageTLS, []string{"plain HTTP, not TLS"}},
		{"MissingCA", tlsSrv.URL, nil, StageTLS, []string{"not trusted", "--ca-cert"}},
		{"WrongCA", tlsSrv.URL, otherCA(t), StageTLS, []string{"not trusted", "--ca-cert"}},
		{"WrongHostName", "https://localhost:" + port, trusted, StageTLS, []string{"not valid for localhost", "127.0.0.1", "--server"}},
	}
	for _, c := range cases {
		for _, proto := range []string{"grpc", "connect"} {
			t.Run(c.name+"/"+proto, func(t *testing.T) {
				err := callOnce(c.server, c.roots, proto)
				if err == nil {
					t.Fatal("call succeeded, want a connection error")
				}
				stage, hint := Diagnose(context.Background(), err, c.server, CLINames)
				if stage != c.stage {
					t.Errorf("stage: got %q, want %q (hint %q, error %v)", stage, c.stage, hint, err)
				}
				for _, want := range c.hint {
					if !strings.Contains(hint, want) {
						t.Errorf("hint: got %q, want it to contain %q (error %v)", hint, want, err)
					}
				}
			})
		}
	}

	t.Run("ServerAnswered", func(t *testing.T) {
		err := connect.NewError(connect.CodeNotFound, nil)
		if stage, hint := Diagnose(context.Background(), err, tlsSrv.URL, CLINames); hint != "" || stage != "" {
			t.Errorf("got %q %q, want no hint for an answer of the server", stage, hint)
		}
	})
	t.Run("LibraryNames", func(t *testing.T) {
		err := callOnce(down, trusted, "grpc")
		if _, hint := Diagnose(context.Background(), err, down, SettingNames{}); !strings.Contains(hint, "Config.Server") {
			t.Errorf("hint: got %q, want it to name Config.Server", hint)
		}
	})
}

// callOnce makes one GetLicense call to server with a client trusting roots.
func callOnce(server string, roots *x509.CertPool, proto string) error {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}
	opt := connect.WithGRPC()
	if proto == "connect" {
		opt = connect.WithProtoJSON()
	}
	cl := licensorv1connect.NewLicenseServiceClient(hc, server, opt)
	_, err := cl.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: "con_x", InstanceId: "i"}))
	return err
}

// otherCA is a pool holding a CA that signed nothing the servers present.
func otherCA(t *testing.T) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
