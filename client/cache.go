package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/atomicfile"
	"github.com/licensor/licensor/license"
)

// cacheVersion is the format of the cache file.
const cacheVersion = 1

// cacheSnapshot is the cache file: the last license from the server, the
// newest server time seen (the clock guard survives a restart) and the
// fetched JWKS (so a start with the server down can verify).
type cacheSnapshot struct {
	Version    int             `json:"version"`
	Token      string          `json:"token,omitempty"`
	ServerTime time.Time       `json:"server_time,omitzero"`
	JWKS       json.RawMessage `json:"jwks,omitempty"`
}

// fileStem is a file-name-safe form of the contract id.
func (c *Client) fileStem() string {
	return "licensor-" + strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, c.cfg.ContractID)
}

func (c *Client) cachePath() string {
	return filepath.Join(c.cfg.CacheDir, c.fileStem()+".json")
}

// loadInstanceID returns Config.InstanceID, or the id persisted in
// CacheDir, or a new one (persisted) so that a restart keeps its seat.
func (c *Client) loadInstanceID() (string, error) {
	if c.cfg.InstanceID != "" {
		return c.cfg.InstanceID, nil
	}
	var path string
	if c.cfg.CacheDir != "" {
		path = filepath.Join(c.cfg.CacheDir, c.fileStem()+".instance")
		if b, err := os.ReadFile(path); err == nil {
			id := strings.TrimSpace(string(b))
			if licensor.ValidateID("instance id", id) == nil {
				return id, nil
			}
			c.log.Warn("persisted instance id is damaged; generating a new one", "path", path)
		}
	}
	var b [10]byte
	_, _ = rand.Read(b[:])
	id := "inst-" + hex.EncodeToString(b[:])
	if path == "" {
		c.log.Warn("no CacheDir: the generated instance id is not persisted and a restart takes a new seat", "instance_id", id)
		return id, nil
	}
	if err := os.MkdirAll(c.cfg.CacheDir, 0o700); err != nil {
		return "", fmt.Errorf("client: cache dir: %w", err)
	}
	if err := atomicfile.Write(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("client: persist instance id: %w", err)
	}
	return id, nil
}

// cacheSnapshotLocked captures what to persist; c.mu is held.
func (c *Client) cacheSnapshotLocked() cacheSnapshot {
	s := cacheSnapshot{Version: cacheVersion, ServerTime: c.serverHigh.UTC(), JWKS: c.jwks}
	if c.online != nil {
		s.Token = c.online.Token
	}
	return s
}

// saveCache writes the cache atomically (temp file, fsync, rename): a crash
// leaves the old cache or the new one, never half of one.
func (c *Client) saveCache(s cacheSnapshot) {
	if c.cfg.CacheDir == "" {
		return
	}
	b, err := json.Marshal(s)
	if err != nil {
		c.log.Error("encode license cache", "err", err)
		return
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	if err := os.MkdirAll(c.cfg.CacheDir, 0o700); err != nil {
		c.log.Warn("cannot create the license cache dir", "err", err)
		return
	}
	if err := atomicfile.Write(c.cachePath(), b, 0o600); err != nil {
		c.log.Warn("cannot write the license cache", "path", c.cachePath(), "err", err)
	}
}

// init loads, once, the cache and the static license file. A corrupt or
// unverifiable cache is ignored with a warning; the product then starts as
// if there were none.
func (c *Client) init(ctx context.Context) {
	c.initOnce.Do(func() {
		c.loadCache(ctx)
		c.loadStatic()
	})
	// Evaluate outside the Once, so that a handler calling back into the
	// client cannot deadlock on it.
	c.Status()
}

func (c *Client) loadCache(ctx context.Context) {
	if c.cfg.CacheDir == "" {
		return
	}
	path := c.cachePath()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		c.log.Warn("cannot read the license cache; ignoring it", "path", path, "err", err)
		return
	}
	var s cacheSnapshot
	if err := json.Unmarshal(b, &s); err != nil || s.Version != cacheVersion {
		c.log.Warn("license cache is corrupt; ignoring it", "path", path, "err", err)
		return
	}
	c.mu.Lock()
	if s.ServerTime.After(c.serverHigh) {
		c.serverHigh = s.ServerTime
	}
	c.mu.Unlock()
	if len(c.cfg.Keys) == 0 && len(s.JWKS) > 0 {
		if err := c.setJWKS(s.JWKS, false); err != nil {
			c.log.Warn("cached JWKS is corrupt; ignoring it", "path", path, "err", err)
		}
	}
	if s.Token == "" {
		return
	}
	if len(c.cfg.Keys) == 0 && c.rpc != nil {
		c.mu.Lock()
		have := len(c.keys) > 0
		c.mu.Unlock()
		if !have {
			if err := c.ensureKeys(ctx); err != nil {
				c.log.Warn("cannot verify the cached license: no keys", "err", err)
				return
			}
		}
	}
	lic, err := c.verify(ctx, s.Token, SourceCache)
	if err != nil {
		c.log.Warn("cached license does not verify; ignoring it", "path", path, "err", licensor.ErrorMessage(err))
		return
	}
	c.mu.Lock()
	// The license's iat is signed: a floor for the clock that editing the
	// cache file cannot lower.
	if iat := lic.Claims.IssuedAtTime(); iat.After(c.serverHigh) {
		c.serverHigh = iat
	}
	c.online = lic
	c.lastSuccess = lic.Claims.IssuedAtTime()
	c.mu.Unlock()
}

// loadStatic reads Config.LicenseFile. Its license passes the same checks
// as any other; it is used only when no fresher valid license is held.
func (c *Client) loadStatic() {
	if c.cfg.LicenseFile == "" {
		return
	}
	lic, err := readLicenseFile(c.cfg.LicenseFile, func(token string) (*License, error) {
		return c.verify(c.ctx, token, SourceFile)
	})
	if err != nil {
		c.log.Warn("static license file is not usable", "path", c.cfg.LicenseFile, "err", licensor.ErrorMessage(err))
		c.mu.Lock()
		if c.lastErr == nil {
			c.lastErr = &Error{Stage: StageVerify, Err: &licensor.Error{Code: licensor.EINVALID, Message: "license file " + c.cfg.LicenseFile + ": " + licensor.ErrorMessage(err), Err: err}}
		}
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	if iat := lic.Claims.IssuedAtTime(); iat.After(c.serverHigh) {
		c.serverHigh = iat
	}
	c.static = lic
	c.mu.Unlock()
	if t, ok := c.userTelemetry(); ok {
		c.warnEnvironment(lic, t.Environment)
	}
}

func readLicenseFile(path string, verify func(string) (*License, error)) (*License, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &licensor.Error{Code: licensor.EINVALID, Message: err.Error(), Err: err}
	}
	token, err := license.Dearmor(b)
	if err != nil {
		return nil, err
	}
	return verify(token)
}
