package signing

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	// masterKeyEnv, when set, holds the master key and takes precedence
	// over the key file: for deployments whose secrets come from the
	// environment and whose disk is not trusted with them.
	masterKeyEnv  = "LICENSOR_MASTER_KEY"
	masterKeyFile = "master.key"
	masterKeySize = 32
)

// ErrNoMasterKey is LoadMasterKey's error when neither LICENSOR_MASTER_KEY
// nor the key file is there.
var ErrNoMasterKey = errors.New("no master key: " + masterKeyEnv + " is not set and there is no " + masterKeyFile)

// LoadOrCreateMasterKey returns the 32-byte master key that seals the
// tenants' private keys: LoadMasterKey's, or, when there is none, a new
// key written to <dataDir>/master.key (32 random bytes in base64, mode
// 0600, directory 0700). A caller whose database may already hold sealed
// keys calls LoadMasterKey first: a new key can never open them.
func LoadOrCreateMasterKey(dataDir string) ([]byte, error) {
	key, err := LoadMasterKey(dataDir)
	if errors.Is(err, ErrNoMasterKey) && dataDir != "" {
		return createMasterKey(dataDir, filepath.Join(dataDir, masterKeyFile))
	}
	return key, err
}

// LoadMasterKey returns the existing master key, never making one.
//
// If LICENSOR_MASTER_KEY is set (32 bytes in standard or raw URL base64) it
// is used. Otherwise the key is read from <dataDir>/master.key; when that
// does not exist the error wraps ErrNoMasterKey. An existing file is never
// overwritten: every sealed key depends on it, so a file of the wrong size
// or format is an error to fix by hand, not a reason to make a new key.
//
// Errors never contain the key itself.
func LoadMasterKey(dataDir string) ([]byte, error) {
	if v := os.Getenv(masterKeyEnv); v != "" {
		key, err := decodeMasterKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", masterKeyEnv, err)
		}
		return key, nil
	}
	if dataDir == "" {
		return nil, fmt.Errorf("%w (and no data directory is given)", ErrNoMasterKey)
	}
	path := filepath.Join(dataDir, masterKeyFile)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := decodeMasterKey(string(data))
		if err != nil {
			return nil, fmt.Errorf("master key file %s: %w", path, err)
		}
		return key, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w in %s", ErrNoMasterKey, dataDir)
	default:
		return nil, fmt.Errorf("read master key: %w", err)
	}
}

// MasterKeySource names where LoadMasterKey reads the key from, for
// messages that tell an operator what to restore.
func MasterKeySource(dataDir string) string {
	if os.Getenv(masterKeyEnv) != "" {
		return masterKeyEnv
	}
	return filepath.Join(dataDir, masterKeyFile)
}

// decodeMasterKey accepts the encodings people reach for: standard base64
// (what we write and what `openssl rand -base64 32` prints) and raw URL
// base64, with surrounding whitespace.
func decodeMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding, base64.RawStdEncoding, base64.URLEncoding} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != masterKeySize {
			return nil, fmt.Errorf("the master key is %d bytes; want %d bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`)", len(key), masterKeySize)
		}
		return key, nil
	}
	return nil, fmt.Errorf("the master key is not base64; want %d bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`)", masterKeySize)
}

// createMasterKey writes a new key with O_EXCL so that two servers starting
// on the same data directory never replace each other's key: the loser
// reads the winner's file instead.
func createMasterKey(dataDir, path string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	key := make([]byte, masterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read master key: %w", err)
		}
		return decodeMasterKey(string(data))
	}
	if err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	text := []byte(base64.StdEncoding.EncodeToString(key) + "\n")
	_, err = f.Write(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Nothing has been sealed with this key yet, so removing a partial
		// file is safe and lets the next start try again.
		_ = os.Remove(path)
		return nil, fmt.Errorf("write master key: %w", err)
	}
	return key, nil
}
