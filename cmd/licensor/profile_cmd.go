package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// LoginCmd saves the global flags' server, CA and token as a context.
type LoginCmd struct {
	Name   string `arg:"" optional:"" help:"Name of the context (default: the server's host)."`
	Verify bool   `help:"Check the server, the CA and the token with one call before saving." default:"true" negatable:""`
}

func (c *LoginCmd) Run(g *Globals) error {
	ref := profileContext{Name: c.Name, Server: g.Server, CACert: g.CACert, Token: g.Token}
	if g.DemoFile != "" {
		d, err := readDemoFile(g.DemoFile)
		if err != nil {
			return fmt.Errorf("--demo-file: %w", err)
		}
		ref.Server, ref.CACert, ref.Token = firstOf(ref.Server, d.Server), firstOf(ref.CACert, d.CACert), firstOf(ref.Token, d.AdminToken)
	}
	if ref.Server == "" || ref.Token == "" {
		return usageError(errors.New("login needs --server and --token (or --demo-file); --token may be env:NAME or file:PATH so the file keeps no secret"))
	}
	if !strings.Contains(ref.Server, "://") {
		ref.Server = "https://" + ref.Server
	}
	if ref.CACert != "" {
		abs, err := filepath.Abs(ref.CACert)
		if err != nil {
			return err
		}
		ref.CACert = abs
	}
	if ref.Name == "" {
		u, err := url.Parse(ref.Server)
		if err != nil || u.Hostname() == "" {
			return usageError(fmt.Errorf("--server %q: not a URL", ref.Server))
		}
		ref.Name = u.Hostname()
	}
	if c.Verify {
		if err := verifyLogin(ref); err != nil {
			return err
		}
	}
	f, path, err := g.loadProfiles()
	if err != nil {
		return err
	}
	f.set(ref)
	f.CurrentContext = ref.Name
	if err := saveProfiles(path, f); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "context %q saved in %s and made current\n", ref.Name, path)
	if describeToken(ref.Token) != ref.Token {
		fmt.Fprintln(stdout, "the token is stored in the file (mode 0600); --token env:NAME or file:PATH would keep only a reference")
	}
	return nil
}

// verifyLogin makes one call with the context: it fails if the server is
// unreachable, not trusted, or refuses the token. Any other answer (an
// operator token must name a tenant) shows that all three work.
func verifyLogin(p profileContext) error {
	g := &Globals{Server: p.Server, CACert: p.CACert, Token: p.Token}
	err := call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		_, err := cl.GetTenant(ctx, connect.NewRequest(&v1.GetTenantRequest{}))
		return err
	})
	switch exitCode(err) {
	case ExitOK, ExitInvalid, ExitNotFound:
		return nil
	}
	return fmt.Errorf("not saved (--no-verify saves anyway): %w", err)
}

// ConfigCmd manages the contexts of the config file.
type ConfigCmd struct {
	SetContext     ConfigSetContextCmd     `cmd:"" help:"Add or change a context from --server, --ca-cert and --token (only those given)."`
	UseContext     ConfigUseContextCmd     `cmd:"" help:"Make a context the current one."`
	GetContexts    ConfigGetContextsCmd    `cmd:"" help:"List the contexts; * marks the current one."`
	CurrentContext ConfigCurrentContextCmd `cmd:"" help:"Print the current context's name."`
	DeleteContext  ConfigDeleteContextCmd  `cmd:"" help:"Remove a context."`
}

type ConfigSetContextCmd struct {
	Name string `arg:"" help:"Context name."`
}

func (c *ConfigSetContextCmd) Run(g *Globals) error {
	f, path, err := g.loadProfiles()
	if err != nil {
		return err
	}
	p := profileContext{Name: c.Name, Server: g.Server, CACert: g.CACert, Token: g.Token}
	if p.Server != "" && !strings.Contains(p.Server, "://") {
		p.Server = "https://" + p.Server
	}
	if p.CACert != "" {
		if p.CACert, err = filepath.Abs(p.CACert); err != nil {
			return err
		}
	}
	f.set(p)
	if f.CurrentContext == "" {
		f.CurrentContext = c.Name
	}
	if err := saveProfiles(path, f); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "context %q saved in %s\n", c.Name, path)
	return nil
}

type ConfigUseContextCmd struct {
	Name string `arg:"" help:"Context name." predictor:"context"`
}

func (c *ConfigUseContextCmd) Run(g *Globals) error {
	f, path, err := g.loadProfiles()
	if err != nil {
		return err
	}
	if f.find(c.Name) == nil {
		return exitError{ExitNotFound, fmt.Errorf("no context %q in %s", c.Name, path)}
	}
	f.CurrentContext = c.Name
	if err := saveProfiles(path, f); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "current context is %q\n", c.Name)
	return nil
}

type ConfigGetContextsCmd struct{}

func (c *ConfigGetContextsCmd) Run(g *Globals) error {
	f, _, err := g.loadProfiles()
	if err != nil {
		return err
	}
	type row struct {
		Name    string `json:"name"`
		Current bool   `json:"current"`
		Server  string `json:"server,omitempty"`
		CACert  string `json:"ca_cert,omitempty"`
		Token   string `json:"token"`
	}
	var rows [][]string
	var out []row
	for _, p := range f.Contexts {
		cur := p.Name == f.CurrentContext
		out = append(out, row{p.Name, cur, p.Server, p.CACert, describeToken(p.Token)})
		mark := ""
		if cur {
			mark = "*"
		}
		rows = append(rows, []string{p.Name, mark, orDash(p.Server), orDash(p.CACert), describeToken(p.Token)})
	}
	if g.Output == outJSON || g.Output == outYAML {
		return emitValue(g, out)
	}
	return emit(g, nil, []string{"NAME", "CURRENT", "SERVER", "CA", "TOKEN"}, rows)
}

type ConfigCurrentContextCmd struct{}

func (c *ConfigCurrentContextCmd) Run(g *Globals) error {
	f, path, err := g.loadProfiles()
	if err != nil {
		return err
	}
	if f.CurrentContext == "" {
		return exitError{ExitNotFound, fmt.Errorf("no current context in %s (licensor login, or licensor config use-context)", path)}
	}
	_, err = fmt.Fprintln(stdout, f.CurrentContext)
	return err
}

type ConfigDeleteContextCmd struct {
	Name string `arg:"" help:"Context name." predictor:"context"`
}

func (c *ConfigDeleteContextCmd) Run(g *Globals) error {
	f, path, err := g.loadProfiles()
	if err != nil {
		return err
	}
	if f.find(c.Name) == nil {
		return exitError{ExitNotFound, fmt.Errorf("no context %q in %s", c.Name, path)}
	}
	kept := f.Contexts[:0]
	for _, p := range f.Contexts {
		if p.Name != c.Name {
			kept = append(kept, p)
		}
	}
	f.Contexts = kept
	if f.CurrentContext == c.Name {
		f.CurrentContext = ""
	}
	if err := saveProfiles(path, f); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "context %q deleted\n", c.Name)
	return nil
}
