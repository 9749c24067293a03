package crashtest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefuses: the serve binary refuses a data directory another
// server holds, and a master key that cannot open the database's keys,
// lost or wrong, without writing a new master.key; given the right key
// back it serves again.
func TestServeRefuses(t *testing.T) {
	bin := serverBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	keyFile := filepath.Join(data, "master.key")

	first, err := startServer(t, bin, data)
	if err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("second server on the same data directory", func(t *testing.T) {
		_, err := startServer(t, bin, data)
		want := fmt.Sprintf("in use by another licensor server (pid %d)", first.cmd.Process.Pid)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("second serve: got %v, want a refusal saying %q", err, want)
		}
	})
	first.kill()

	otherKey := func() string {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return base64.StdEncoding.EncodeToString(k)
	}
	tests := []struct {
		name     string
		keyFile  []byte // nil: no master.key
		env      []string
		wantErr  string
		wantFile bool // master.key exists afterwards
	}{
		{name: "master.key lost", wantErr: "restore master.key from the backup"},
		{name: "master.key replaced", keyFile: []byte(otherKey() + "\n"), wantErr: "does not open the signing keys", wantFile: true},
		{name: "wrong LICENSOR_MASTER_KEY", env: []string{"LICENSOR_MASTER_KEY=" + otherKey()}, wantErr: "(LICENSOR_MASTER_KEY) does not open"},
		{name: "master.key restored", keyFile: original, wantFile: true},
		{name: "right LICENSOR_MASTER_KEY", env: []string{"LICENSOR_MASTER_KEY=" + strings.TrimSpace(string(original))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.Remove(keyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			if tt.keyFile != nil {
				if err := os.WriteFile(keyFile, tt.keyFile, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			srv, err := startServer(t, bin, data, tt.env...)
			if srv != nil {
				waitReady(t, httpClient(t, readDemo(t, data)), srv.addr)
				srv.kill()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("serve: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("serve: got %v, want a refusal saying %q", err, tt.wantErr)
			}
			if _, err := os.Stat(keyFile); (err == nil) != tt.wantFile {
				t.Errorf("master.key exists: got %v, want %v", err == nil, tt.wantFile)
			}
		})
	}
}
