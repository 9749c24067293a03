package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/licensor/licensor/metrics"
)

// The interceptor resolves a procedure's series once; what it counts must
// be what a lookup per call counts: each outcome under its code, an "ok"
// series only once a call succeeded, licenses issued only by the methods
// that issue them, and every call timed.
func TestInterceptorCounts(t *testing.T) {
	m := metrics.New(metrics.Config{})
	fail := errors.New("refused")
	mux := http.NewServeMux()
	for _, proc := range []string{"/licensor.v1.LicenseService/GetLicense", "/licensor.v1.AdminService/GetTenant"} {
		mux.Handle(proc, connect.NewUnaryHandler(proc, func(_ context.Context, req *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
			if req.Header().Get("Fail") != "" {
				return nil, connect.NewError(connect.CodePermissionDenied, fail)
			}
			return connect.NewResponse(&emptypb.Empty{}), nil
		}, connect.WithInterceptors(m.Interceptor())))
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	call := func(proc string, failing bool) {
		req := connect.NewRequest(&emptypb.Empty{})
		if failing {
			req.Header().Set("Fail", "1")
		}
		_, err := connect.NewClient[emptypb.Empty, emptypb.Empty](srv.Client(), srv.URL+proc).CallUnary(context.Background(), req)
		if (err != nil) != failing {
			t.Fatalf("%s: got %v, want failing %v", proc, err, failing)
		}
	}
	call("/licensor.v1.AdminService/GetTenant", true)
	if got := gathered(t, m); len(got) != 2 {
		t.Fatalf("series after one refused call: got %v, want its count and its latency (no ok series yet)", got)
	}
	for _, c := range []struct {
		proc    string
		failing bool
	}{
		{"/licensor.v1.LicenseService/GetLicense", false},
		{"/licensor.v1.LicenseService/GetLicense", false},
		{"/licensor.v1.LicenseService/GetLicense", true},
		{"/licensor.v1.AdminService/GetTenant", false},
	} {
		call(c.proc, c.failing)
	}
	got := gathered(t, m)
	for name, want := range map[string]float64{
		`licensor_requests_total{code="ok",method="GetLicense",service="licensor.v1.LicenseService"}`:                2,
		`licensor_requests_total{code="permission_denied",method="GetLicense",service="licensor.v1.LicenseService"}`: 1,
		`licensor_requests_total{code="ok",method="GetTenant",service="licensor.v1.AdminService"}`:                   1,
		`licensor_requests_total{code="permission_denied",method="GetTenant",service="licensor.v1.AdminService"}`:    1,
		`licensor_licenses_issued_total{method="GetLicense"}`:                                                        2,
		`licensor_request_duration_seconds_count{method="GetLicense",service="licensor.v1.LicenseService"}`:          3,
		`licensor_request_duration_seconds_count{method="GetTenant",service="licensor.v1.AdminService"}`:             2,
	} {
		if got[name] != want {
			t.Errorf("%s: got %v, want %v", name, got[name], want)
		}
	}
	if len(got) != 7 {
		t.Errorf("got %d series %v, want 7", len(got), got)
	}
}

// gathered returns the request, issued and latency series of m by name
// and labels, as the text format spells them.
func gathered(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		name := mf.GetName()
		if name != "licensor_requests_total" && name != "licensor_licenses_issued_total" && name != "licensor_request_duration_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			key := "{" + strings.Join(labels, ",") + "}"
			if h := s.GetHistogram(); h != nil {
				out[name+"_count"+key] = float64(h.GetSampleCount())
				continue
			}
			out[name+key] = s.GetCounter().GetValue()
		}
	}
	return out
}
