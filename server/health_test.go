package server_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/server"
	"github.com/licensor/licensor/service"
)

// /readyz fails when the signing keys do not open with the server's master
// key (a wrong master key beside the database), and passes otherwise.
func TestReadyzChecksKeysLoad(t *testing.T) {
	s := testserver.Start(t)
	s.NewFixture(t, testserver.FixtureOptions{})
	get := func(h http.Handler, path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, path, nil))
		return rec.Code
	}
	for _, tc := range []struct {
		name string
		key  func() []byte
		want int
	}{
		{"RightMasterKey", func() []byte {
			k, err := signing.LoadOrCreateMasterKey(s.Dir)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}, http.StatusOK},
		{"WrongMasterKey", func() []byte {
			k := make([]byte, 32)
			_, _ = rand.Read(k)
			return k
		}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealer, err := signing.NewSealer(tc.key())
			if err != nil {
				t.Fatal(err)
			}
			srv := server.New(server.Config{Service: service.New(service.Config{Store: s.Store, Sealer: sealer})})
			if got := get(srv.Handler(), "/readyz"); got != tc.want {
				t.Errorf("/readyz: got %d, want %d", got, tc.want)
			}
			if got := get(srv.Handler(), "/healthz"); got != http.StatusOK {
				t.Errorf("/healthz: got %d, want 200 (alive either way)", got)
			}
		})
	}
}
