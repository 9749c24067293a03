package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// BenchmarkGetLicenseHandler measures the server's own work per license:
// the handler chain (guard, interceptors, connect's codec), the service,
// signing and the SQLite check-in, without TLS, HTTP/2 framing or a client
// in the same process. Each call runs on a goroutine of its own, as
// net/http's HTTP/2 server runs each request, so that the cost of growing
// a fresh goroutine's stack counts. Instances are refreshed, spread over
// 1,000 instance ids.
func BenchmarkGetLicenseHandler(b *testing.B) {
	for _, p := range []struct {
		name        string
		contentType string
		protoMajor  int
		header      http.Header
		body        func(msg []byte) []byte
	}{
		{"grpc", "application/grpc", 2, http.Header{"Te": {"trailers"}, "Grpc-Accept-Encoding": {"gzip"}}, grpcFrame},
		{"connect", "application/proto", 1, http.Header{"Connect-Protocol-Version": {"1"}, "Accept-Encoding": {"gzip"}}, func(m []byte) []byte { return m }},
	} {
		b.Run(p.name, func(b *testing.B) {
			s := testserver.Start(b)
			f := s.NewFixture(b, testserver.FixtureOptions{})
			lc := s.License(testserver.Connect, f.ContractToken)
			for i := range 1000 {
				if _, err := lc.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: fmt.Sprintf("i-%d", i)})); err != nil {
					b.Fatal(err)
				}
			}
			bodies := make([][]byte, 1000)
			for i := range bodies {
				m, err := proto.Marshal(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: fmt.Sprintf("i-%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				bodies[i] = p.body(m)
			}
			h := s.Server.Handler()
			call := func(i int) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodPost, "/licensor.v1.LicenseService/GetLicense", bytes.NewReader(bodies[i%len(bodies)]))
				r.ProtoMajor = p.protoMajor
				for k, v := range p.header {
					r.Header[k] = v
				}
				r.Header.Set("Content-Type", p.contentType)
				r.Header.Set("Authorization", "Bearer "+f.ContractToken)
				w := httptest.NewRecorder()
				done := make(chan struct{})
				go func() {
					defer close(done)
					h.ServeHTTP(w, r)
				}()
				<-done
				return w
			}
			if w := call(0); w.Code != http.StatusOK || w.Result().Trailer.Get("Grpc-Status") != "" && w.Result().Trailer.Get("Grpc-Status") != "0" {
				b.Fatalf("got status %d, trailers %v, body %q", w.Code, w.Result().Trailer, w.Body.Bytes())
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for i := range b.N {
				call(i)
			}
			// CPU time, not wall time, is the figure that holds on a
			// shared machine: the calls are serial, so wall time also
			// counts the waits between goroutines.
			b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// grpcFrame wraps a message in gRPC's length-prefixed envelope.
func grpcFrame(m []byte) []byte {
	out := make([]byte, 5+len(m))
	out[1], out[2], out[3], out[4] = byte(len(m)>>24), byte(len(m)>>16), byte(len(m)>>8), byte(len(m))
	copy(out[5:], m)
	return out
}
