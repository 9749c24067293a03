package main

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

func TestServePprof(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		ok         bool
	}{
		{"Loopback", "127.0.0.1:0", true},
		{"AllInterfaces", "0.0.0.0:0", false},
		{"NoPort", "127.0.0.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: t.TempDir(), Pprof: tc.addr}, Out: &bytes.Buffer{}}
			err := m.Start(context.Background())
			t.Cleanup(func() { _ = m.Close() })
			if !tc.ok {
				if err == nil {
					t.Fatalf("--pprof %s: got no error, want a refusal", tc.addr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.Get("http://" + m.App.PprofAddr() + "/debug/pprof/")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET /debug/pprof/: got %d, want 200", res.StatusCode)
			}
		})
	}
}
