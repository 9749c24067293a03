package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
)

// With --metrics-listen, the separate listener serves /metrics and health
// only, and the main port no longer serves /metrics.
func TestMetricsListen(t *testing.T) {
	var out bytes.Buffer
	m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Data: t.TempDir()}, Out: &out}
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	base := "http://" + m.App.MetricsAddr()
	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, tc := range []struct {
		path     string
		code     int
		contains string
	}{
		{"/metrics", 200, "go_goroutines"},
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ready"},
		{"/.well-known/jwks.json?tenant=x", 404, ""},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			code, body := get(base + tc.path)
			if code != tc.code || !strings.Contains(body, tc.contains) {
				t.Errorf("GET %s: got %d %q, want %d containing %q", tc.path, code, body, tc.code, tc.contains)
			}
		})
	}
}

// /metrics names every tenant: it is not on the API port, with or without
// --metrics-listen.
func TestMetricsNotOnAPIPort(t *testing.T) {
	for _, listen := range []string{"", "127.0.0.1:0"} {
		t.Run("metrics-listen="+listen, func(t *testing.T) {
			m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", MetricsListen: listen, Data: t.TempDir()}, Out: io.Discard}
			if err := m.Start(context.Background()); err != nil {
				t.Fatalf("start: %v", err)
			}
			t.Cleanup(func() { _ = m.Close() })
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback test server, self-signed
			for _, tc := range []struct {
				path string
				code int
			}{{"/metrics", 404}, {"/healthz", 200}} {
				res, err := hc.Get("https://" + m.Addr() + tc.path)
				if err != nil {
					t.Fatal(err)
				}
				_ = res.Body.Close()
				if res.StatusCode != tc.code {
					t.Errorf("GET %s on the API port: got %d, want %d", tc.path, res.StatusCode, tc.code)
				}
			}
		})
	}
}
