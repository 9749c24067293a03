package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/licensor/licensor/internal/atomicfile"
)

// profileFile is the config file of named contexts, like kubectl's
// kubeconfig: each context a server, its CA and a token (better a
// reference to one: env:NAME or file:PATH), one of them current. It is
// written with mode 0600 since it may hold a token.
type profileFile struct {
	CurrentContext string           `yaml:"current-context,omitempty"`
	Contexts       []profileContext `yaml:"contexts"`
}

type profileContext struct {
	Name   string `yaml:"name"`
	Server string `yaml:"server,omitempty"`
	CACert string `yaml:"ca-cert,omitempty"`
	Token  string `yaml:"token,omitempty"` // env:NAME, file:PATH, or the token itself
}

// configPath is --config, else licensor/config.yaml in the user's config
// directory ($XDG_CONFIG_HOME or ~/.config on Linux).
func (g *Globals) configPath() (string, error) {
	if g.Config != "" {
		return g.Config, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory (give --config): %w", err)
	}
	return filepath.Join(dir, "licensor", "config.yaml"), nil
}

// loadProfiles reads the config file; a missing file is an empty one.
func (g *Globals) loadProfiles() (*profileFile, string, error) {
	path, err := g.configPath()
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &profileFile{}, path, nil
	}
	if err != nil {
		return nil, path, err
	}
	var f profileFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	return &f, path, nil
}

func saveProfiles(path string, f *profileFile) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	b := buf.Bytes()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}

func (f *profileFile) find(name string) *profileContext {
	for i := range f.Contexts {
		if f.Contexts[i].Name == name {
			return &f.Contexts[i]
		}
	}
	return nil
}

// set adds or updates the named context with the non-empty fields of c.
func (f *profileFile) set(c profileContext) {
	p := f.find(c.Name)
	if p == nil {
		f.Contexts = append(f.Contexts, profileContext{Name: c.Name})
		p = &f.Contexts[len(f.Contexts)-1]
	}
	if c.Server != "" {
		p.Server = c.Server
	}
	if c.CACert != "" {
		p.CACert = c.CACert
	}
	if c.Token != "" {
		p.Token = c.Token
	}
}

// context is the context to use: --context, else the current one; nil if
// neither names one.
func (g *Globals) context() (*profileContext, error) {
	f, path, err := g.loadProfiles()
	if err != nil {
		return nil, err
	}
	name := g.Context
	if name == "" {
		name = f.CurrentContext
	}
	if name == "" {
		return nil, nil
	}
	c := f.find(name)
	if c == nil {
		return nil, usageError(fmt.Errorf("no context %q in %s (see licensor config get-contexts)", name, path))
	}
	return c, nil
}

// readToken resolves a token reference: env:NAME reads the variable,
// file:PATH the file's first line; anything else is the token itself.
func readToken(ref string) (string, error) {
	switch {
	case strings.HasPrefix(ref, "env:"):
		name := strings.TrimPrefix(ref, "env:")
		v := os.Getenv(name)
		if v == "" {
			return "", fmt.Errorf("token %s: the variable %s is empty or not set", ref, name)
		}
		return v, nil
	case strings.HasPrefix(ref, "file:"):
		b, err := os.ReadFile(strings.TrimPrefix(ref, "file:"))
		if err != nil {
			return "", fmt.Errorf("token %s: %w", ref, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if line = strings.TrimSpace(line); line == "" {
			return "", fmt.Errorf("token %s: the file is empty", ref)
		}
		return line, nil
	}
	return ref, nil
}

// describeToken shows a token reference, never a token.
func describeToken(ref string) string {
	switch {
	case ref == "":
		return "-"
	case strings.HasPrefix(ref, "env:"), strings.HasPrefix(ref, "file:"):
		return ref
	}
	return "(stored in the file)"
}
