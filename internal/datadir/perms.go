package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// Mode bits of what the server keeps in the data directory.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// Prepare creates dir (mode 0700) when it does not exist, and logs a
// warning when it exists but group or others may read, write or enter it:
// it holds master.key, the operator token and the database. An existing
// directory's mode is the operator's to set, so it is reported, not
// changed.
func Prepare(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && log != nil {
		log.Warn("the data directory is open to group or others; it holds the master key, the operator token and the database: chmod 700 it",
			"dir", dir, "mode", fmt.Sprintf("%#o", perm))
	}
	return nil
}

// SecureDatabase makes the SQLite database at path and its -wal and -shm
// files readable by the owner only, before the store opens it. SQLite
// creates -wal and -shm with the mode of the database file, so creating
// the (empty, and so valid) database file with 0600 when it does not exist
// yet is enough for a new directory; files an older server left with a
// wider mode are narrowed to 0600.
func SecureDatabase(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, FileMode)
	if err != nil {
		return fmt.Errorf("database %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("database %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := narrow(p); err != nil {
			return fmt.Errorf("database %s: %w", p, err)
		}
	}
	return nil
}

// narrow removes the group and other bits of path's mode; a missing file
// is nothing to narrow.
func narrow(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&^FileMode != 0 {
		return os.Chmod(path, perm&FileMode)
	}
	return nil
}
