// Package atomicfile replaces files so that a crash never leaves one
// half-written: license caches, the agent's license file, keys and tokens.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data: a temp file in the same directory, created
// with mode, fsynced, then renamed over path.
func Write(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
