// Package datadir guards the server's data directory: one server at a time
// (an advisory lock held for the life of the process) and files that only
// the server's user can read (the database holds every tenant's sealed
// keys and token hashes; the directory holds the master key).
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LockFile is the name of the lock file inside the data directory.
const LockFile = "lock"

// Lock is the held lock of a data directory. The kernel releases it when
// the process ends, however it ends, so a crashed server never leaves a
// stale lock behind: the file may stay, the lock does not.
type Lock struct {
	f *os.File
}

// ErrLocked is wrapped by Acquire's error when another server holds the
// directory.
var ErrLocked = errors.New("data directory in use")

// Acquire locks dir for this process, or fails at once (it never waits)
// when another server holds it. Two servers on one data directory would
// each run their own write path over one SQLite file and their own view of
// seats and pools in memory: counts would be wrong and the last master.key
// written would win. The lock is flock(2) on <dir>/lock, which belongs to
// the open file: a second Acquire conflicts even from the same process.
// The holder's pid is written into the file so that the refusal can name
// it.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := flock(f); err != nil {
		_ = f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
		}
		return nil, fmt.Errorf("%w: %s is in use by another licensor server%s; stop it, or give this server its own --data",
			ErrLocked, dir, holder(path))
	}
	// The pid is for people reading the refusal; the lock itself is the
	// flock, so a failure to record it is not worth refusing to start.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// holder describes the process named in the lock file, or nothing when the
// file names none (the holder may be between taking the lock and writing
// its pid).
func holder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (pid %d)", pid)
}

// Release unlocks the directory. The pid stays in the file: the next
// holder overwrites it, and a reader only trusts it while the lock is held.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}
