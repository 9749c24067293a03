package keycheck_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/keycheck"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/service"
	"github.com/licensor/licensor/store/sqlite"
)

const envKey = "LICENSOR_MASTER_KEY"

// opaque hides the PostgreSQL store's SampleSealedKey, so that Sample takes
// the path every licensor.Store has.
type opaque struct{ licensor.Store }

// stores opens an empty store of each kind; PostgreSQL ones skip without
// LICENSOR_TEST_POSTGRES.
var stores = []struct {
	name string
	open func(t *testing.T) licensor.Store
}{
	{"sqlite", func(t *testing.T) licensor.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "licensor.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
	{"postgres", func(t *testing.T) licensor.Store { return pgtest.Open(t) }},
	{"postgres through licensor.Store", func(t *testing.T) licensor.Store { return opaque{pgtest.Open(t)} }},
}

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func writeKeyFile(t *testing.T, dir string, key []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "master.key"), []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// seal gives the store a tenant, and so a signing key sealed with key.
func seal(t *testing.T, st licensor.Store, key []byte) string {
	t.Helper()
	sealer, err := signing.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: st, Sealer: sealer})
	op := licensor.WithActor(context.Background(), licensor.Actor{Role: licensor.RoleOperator, TokenID: "test"})
	ten, _, err := svc.CreateTenant(op, licensor.Tenant{Name: "Sealed"}, false)
	if err != nil {
		t.Fatal(err)
	}
	return ten.ID
}

func TestSealer(t *testing.T) {
	sealedWith := newKey(t)
	tests := []struct {
		name    string
		sealed  bool   // the store holds a key sealed with sealedWith
		file    []byte // master.key's key; nil: no file
		env     []byte // LICENSOR_MASTER_KEY's key; nil: unset
		wantErr []string
		// wantFile: master.key exists afterwards.
		wantFile bool
	}{
		{name: "empty store, no key: one is made", wantFile: true},
		{name: "empty store, key file", file: newKey(t), wantFile: true},
		{name: "sealed keys, right key file", sealed: true, file: sealedWith, wantFile: true},
		{name: "sealed keys, right env key", sealed: true, env: sealedWith},
		{name: "sealed keys, no key: none is made", sealed: true,
			wantErr: []string{"restore master.key from the backup", envKey, "none is made"}},
		{name: "sealed keys, wrong key file", sealed: true, file: newKey(t), wantFile: true,
			wantErr: []string{"does not open the signing keys", "master.key", "restore"}},
		{name: "sealed keys, wrong env key", sealed: true, env: newKey(t),
			wantErr: []string{"does not open the signing keys", "(" + envKey + ")"}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					st := s.open(t)
					dir := t.TempDir()
					t.Setenv(envKey, "")
					if tt.env != nil {
						t.Setenv(envKey, base64.StdEncoding.EncodeToString(tt.env))
					}
					if tt.file != nil {
						writeKeyFile(t, dir, tt.file)
					}
					var tenantID string
					if tt.sealed {
						tenantID = seal(t, st, sealedWith)
					}

					sealer, err := keycheck.Sealer(context.Background(), st, dir)

					_, statErr := os.Stat(filepath.Join(dir, "master.key"))
					if gotFile := statErr == nil; gotFile != tt.wantFile {
						t.Errorf("master.key exists: got %v, want %v", gotFile, tt.wantFile)
					}
					if tt.wantErr != nil {
						if err == nil {
							t.Fatalf("Sealer: got nil error, want one saying %q", tt.wantErr)
						}
						for _, w := range tt.wantErr {
							if !strings.Contains(err.Error(), w) {
								t.Errorf("Sealer: got %q, want it to say %q", err, w)
							}
						}
						return
					}
					if err != nil {
						t.Fatalf("Sealer: %v", err)
					}
					if tt.sealed {
						keys, err := st.ListSigningKeys(licensor.WithTenant(context.Background(), tenantID))
						if err != nil || len(keys) == 0 {
							t.Fatalf("ListSigningKeys: %v, %d keys", err, len(keys))
						}
						if _, err := sealer.Open(keys[0].ID, keys[0].Sealed); err != nil {
							t.Errorf("the sealer Sealer returned does not open the stored key: %v", err)
						}
					}
				})
			}
		})
	}
}

func TestSample(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			st := s.open(t)
			if _, _, ok, err := keycheck.Sample(ctx, st); err != nil || ok {
				t.Fatalf("Sample of an empty store: got ok=%v err=%v, want false, nil", ok, err)
			}
			// A tenant without keys first in id order must not hide the
			// keys of the next one.
			if err := st.CreateTenant(ctx, &licensor.Tenant{ID: "ten_0000keyless", Name: "Keyless"}); err != nil {
				t.Fatal(err)
			}
			seal(t, st, newKey(t))
			id, sealed, ok, err := keycheck.Sample(ctx, st)
			if err != nil || !ok || id == "" || len(sealed) == 0 {
				t.Fatalf("Sample: got id=%q %d bytes ok=%v err=%v, want a key", id, len(sealed), ok, err)
			}
		})
	}
}

// TestKeyThatStopsLoadingIsUnavailable: a server whose master key no longer
// opens a tenant's key answers UNAVAILABLE (retry elsewhere or later), not
// INTERNAL, and the message sent says nothing of keys.
func TestKeyThatStopsLoadingIsUnavailable(t *testing.T) {
	st := stores[0].open(t)
	tenantID := seal(t, st, newKey(t))
	other, err := signing.NewSealer(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	svc := service.New(service.Config{Store: st, Sealer: other, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	for range 3 {
		_, err = svc.KeySet(licensor.WithTenant(context.Background(), tenantID))
		if got := licensor.ErrorCode(err); got != licensor.EUNAVAILABLE {
			t.Fatalf("KeySet: got code %q (%v), want %q", got, err, licensor.EUNAVAILABLE)
		}
	}
	// The failure is cached like a key: one log line for the operator, not
	// one per request.
	if n := strings.Count(logged.String(), "does not open"); n != 1 {
		t.Errorf("log lines about the key after 3 calls: got %d, want 1", n)
	}
	if msg := licensor.ErrorMessage(err); strings.Contains(msg, "master") || strings.Contains(msg, "seal") {
		t.Errorf("client message: got %q, want nothing about the server's keys", msg)
	}
	var le *licensor.Error
	if !errors.As(err, &le) || le.Err == nil {
		t.Errorf("the cause is not kept for the log: %#v", err)
	}
}
