package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func newTestSealer(t *testing.T) *Sealer {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(key)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	return s
}

func TestSealOpen(t *testing.T) {
	s := newTestSealer(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("key_1", priv)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if bytes.Contains(sealed, priv.Seed()) {
		t.Fatalf("sealed bytes contain the seed in clear")
	}
	got, err := s.Open("key_1", sealed)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !got.Equal(priv) {
		t.Errorf("got a different private key back")
	}
	again, _ := s.Seal("key_1", priv)
	if bytes.Equal(again, sealed) {
		t.Errorf("two seals of one key are equal; want fresh nonces")
	}
}

func TestOpenRejects(t *testing.T) {
	s := newTestSealer(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	sealed, err := s.Seal("key_1", priv)
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		sealer *Sealer
		keyID  string
		sealed []byte
		want   string
	}{
		{"WrongMasterKey", newTestSealer(t), "key_1", sealed, "master key does not match"},
		{"OtherKeyID", s, "key_2", sealed, "master key does not match"},
		{"TamperedNonce", s, "key_1", tamper(1), "master key does not match"},
		{"TamperedCiphertext", s, "key_1", tamper(20), "master key does not match"},
		{"TamperedTag", s, "key_1", tamper(len(sealed) - 1), "master key does not match"},
		{"TamperedVersion", s, "key_1", tamper(0), "unknown sealed key version"},
		{"Truncated", s, "key_1", sealed[:len(sealed)-1], "corrupt"},
		{"Empty", s, "key_1", nil, "corrupt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.sealer.Open(tc.keyID, tc.sealed)
			if got != nil {
				t.Errorf("got a key, want nil")
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestNewSealerRejectsShortKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer with %d bytes: got no error, want one", n)
		}
	}
}

func TestNewSigningKey(t *testing.T) {
	s := newTestSealer(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	k, priv, err := NewSigningKey(s, "ten_1", now)
	if err != nil {
		t.Fatalf("NewSigningKey: %v", err)
	}
	if !strings.HasPrefix(k.ID, licensor.PrefixKey+"_") {
		t.Errorf("got id %q, want prefix %q", k.ID, licensor.PrefixKey+"_")
	}
	if k.TenantID != "ten_1" || !k.CreatedAt.Equal(now) || !k.RetiredAt.IsZero() {
		t.Errorf("got tenant %q created %v retired %v, want ten_1, %v, zero", k.TenantID, k.CreatedAt, k.RetiredAt, now)
	}
	if !k.Public.Equal(priv.Public()) {
		t.Errorf("got a public key that is not the private key's")
	}
	opened, err := s.Open(k.ID, k.Sealed)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !opened.Equal(priv) {
		t.Errorf("got a sealed key that opens to another key")
	}
	if _, _, err := NewSigningKey(s, "", now); err == nil {
		t.Errorf("empty tenant: got no error, want one")
	}
	if _, _, err := NewSigningKey(nil, "ten_1", now); err == nil {
		t.Errorf("nil sealer: got no error, want one")
	}
}

func TestLoadOrCreateMasterKey(t *testing.T) {
	t.Setenv(masterKeyEnv, "")
	dir := filepath.Join(t.TempDir(), "data")

	key, err := LoadOrCreateMasterKey(dir)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(key) != 32 {
		t.Fatalf("got %d bytes, want 32", len(key))
	}
	fi, err := os.Stat(filepath.Join(dir, masterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("got file mode %v, want 0600", got)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got != 0o700 {
		t.Errorf("got directory mode %v, want 0700", got)
	}

	again, err := LoadOrCreateMasterKey(dir)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if !bytes.Equal(again, key) {
		t.Errorf("read back a different key")
	}
}

func TestLoadOrCreateMasterKeyEnv(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb}, 32) // 0xfb makes '+' '/' vs '-' '_' differ
	tests := []struct {
		name string
		env  string
	}{
		{"StdBase64", base64.StdEncoding.EncodeToString(key)},
		{"RawURLBase64", base64.RawURLEncoding.EncodeToString(key)},
		{"TrailingNewline", base64.StdEncoding.EncodeToString(key) + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(masterKeyEnv, tc.env)
			dir := t.TempDir()
			got, err := LoadOrCreateMasterKey(dir)
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if !bytes.Equal(got, key) {
				t.Errorf("got %x, want %x", got, key)
			}
			if _, err := os.Stat(filepath.Join(dir, masterKeyFile)); !os.IsNotExist(err) {
				t.Errorf("got a key file (stat: %v), want none when the env var is set", err)
			}
		})
	}
}

func TestLoadOrCreateMasterKeyRejects(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name string
		env  string
		file string // written to master.key if env is ""
		want string
	}{
		{"EnvShort", short, "", "is 16 bytes; want 32"},
		{"EnvNotBase64", "not a key!", "", "not base64"},
		{"FileShort", "", short + "\n", "is 16 bytes; want 32"},
		{"FileNotBase64", "", "-----BEGIN PRIVATE KEY-----\n", "not base64"},
		{"FileEmpty", "", "", "is 0 bytes; want 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(masterKeyEnv, tc.env)
			dir := t.TempDir()
			path := filepath.Join(dir, masterKeyFile)
			if tc.env == "" {
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadOrCreateMasterKey(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
			if tc.env != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.env)) {
				t.Errorf("got %q, want the error not to repeat the key", err)
			}
			if tc.env == "" {
				if data, _ := os.ReadFile(path); string(data) != tc.file {
					t.Errorf("got file %q after the error, want it untouched: %q", data, tc.file)
				}
			}
		})
	}
}

// TestZeroValues checks that a Sealer or Signer not made by its constructor
// fails with an error instead of panicking.
func TestZeroValues(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	var sealer Sealer
	if _, err := sealer.Seal("key_1", priv); err == nil {
		t.Errorf("Seal on a zero Sealer: got no error, want one")
	}
	if _, err := sealer.Open("key_1", make([]byte, 61)); err == nil {
		t.Errorf("Open on a zero Sealer: got no error, want one")
	}
	var signer *Signer
	if _, err := signer.SignLicense(testClaims()); err == nil {
		t.Errorf("SignLicense on a nil Signer: got no error, want one")
	}
	if _, err := (&Signer{}).SignCapability(map[string]int{}); err == nil {
		t.Errorf("SignCapability on a zero Signer: got no error, want one")
	}
}

func TestSealSecret(t *testing.T) {
	mk := make([]byte, 32)
	s, err := NewSealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.SealSecret("whk_1", []byte("whsec_abc"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		got, err := s.OpenSecret("whk_1", sealed)
		if err != nil || string(got) != "whsec_abc" {
			t.Fatalf("got %q, %v; want whsec_abc", got, err)
		}
	})
	t.Run("OtherID", func(t *testing.T) {
		if _, err := s.OpenSecret("whk_2", sealed); err == nil {
			t.Fatal("got a secret opened under another id, want an error")
		}
	})
	t.Run("OtherMasterKey", func(t *testing.T) {
		mk2 := make([]byte, 32)
		mk2[0] = 1
		s2, _ := NewSealer(mk2)
		if _, err := s2.OpenSecret("whk_1", sealed); err == nil {
			t.Fatal("got a secret opened with another master key, want an error")
		}
	})
	t.Run("SigningKeyFormat", func(t *testing.T) {
		if _, err := s.Open("whk_1", sealed); err == nil {
			t.Fatal("got a sealed secret opened as a signing key, want an error")
		}
	})
}
