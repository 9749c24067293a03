package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHealthcheck(t *testing.T) {
	m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Data: t.TempDir()}, Out: &discard{}}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	tests := []struct {
		name string
		url  string
		ok   bool
	}{
		{"OK", "http://" + m.App.MetricsAddr() + "/healthz", true},
		{"ErrStatus", down.URL + "/healthz", false},
		{"ErrNothingListening", "http://127.0.0.1:1/healthz", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &HealthcheckCmd{URL: tc.url, Timeout: 5 * time.Second}
			if err := c.Run(); (err == nil) != tc.ok {
				t.Errorf("got %v, want ok %v", err, tc.ok)
			}
		})
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
