package datadir_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/datadir"
	"github.com/licensor/licensor/store/sqlite"
)

// withUmask runs the test under a umask that lets 0644 through, as most
// systems have it, so that a 0600 result comes from the code under test.
func withUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

var tenants int

// writeSomething opens the store at path and commits a write, so that the
// -wal and -shm files exist while it is open; it returns the store open.
func writeSomething(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tenants++
	if err := st.CreateTenant(ctx, &licensor.Tenant{ID: fmt.Sprintf("ten_modes%d", tenants), Name: "Modes"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSecureDatabase(t *testing.T) {
	withUmask(t)
	tests := []struct {
		name     string
		existing fs.FileMode // 0: no database file yet
	}{
		{"new database", 0},
		{"existing 0644 database", 0o644},
		{"existing 0640 database", 0o640},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "licensor.db")
			if tt.existing != 0 {
				st := writeSomething(t, path)
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				for _, p := range []string{path, path + "-wal", path + "-shm"} {
					if err := os.Chmod(p, tt.existing); err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
				}
			}
			if err := datadir.SecureDatabase(path); err != nil {
				t.Fatalf("SecureDatabase: %v", err)
			}
			writeSomething(t, path) // -wal and -shm exist while open
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if got := mode(t, p); got != 0o600 {
					t.Errorf("%s: got mode %#o, want 0600", filepath.Base(p), got)
				}
			}
		})
	}
}

func TestSQLiteWithoutSecureDatabaseIsWorldReadable(t *testing.T) {
	// The reason SecureDatabase exists: under umask 022 the driver creates
	// the database 0644. Should that ever change, this test says so.
	withUmask(t)
	path := filepath.Join(t.TempDir(), "licensor.db")
	writeSomething(t, path)
	if got := mode(t, path); got&0o044 == 0 {
		t.Skipf("the driver now creates the database %#o; SecureDatabase may be unnecessary", got)
	}
}

func TestPrepare(t *testing.T) {
	withUmask(t)
	tests := []struct {
		name     string
		existing fs.FileMode // 0: the directory does not exist yet
		wantMode fs.FileMode
		wantWarn bool
	}{
		{"created", 0, 0o700, false},
		{"existing 0700", 0o700, 0o700, false},
		{"existing 0755", 0o755, 0o755, true},
		{"existing 0770", 0o770, 0o770, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if tt.existing != 0 {
				if err := os.Mkdir(dir, tt.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			if err := datadir.Prepare(dir, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if got := mode(t, dir); got != tt.wantMode {
				t.Errorf("mode: got %#o, want %#o", got, tt.wantMode)
			}
			warned := strings.Contains(logs.String(), "level=WARN")
			if warned != tt.wantWarn {
				t.Errorf("warned: got %v, want %v (log: %q)", warned, tt.wantWarn, logs.String())
			}
		})
	}
}

func TestPrepareRefusesAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := datadir.Prepare(path, nil); err == nil {
		t.Fatal("Prepare on a file: got nil error, want one")
	}
}
