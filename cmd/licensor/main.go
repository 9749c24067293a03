// Command licensor is the one binary of Licensor: the server (serve), its
// admin CLI (admin), offline license tools (license), the sidecar agent
// (agent) and the fleet simulator (bench).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/licensor/licensor/internal/buildinfo"
)

// CLI is the command tree.
type CLI struct {
	Globals
	Serve       ServeCmd       `cmd:"" help:"Run the license server."`
	Admin       AdminCmd       `cmd:"" help:"Manage tenants, products, contracts, tokens and keys through the API."`
	License     LicenseCmd     `cmd:"" help:"Issue and verify static license files."`
	Offline     OfflineCmd     `cmd:"" help:"Activate an air-gapped machine by file exchange: request, respond, return."`
	Migrate     MigrateCmd     `cmd:"" help:"Apply the database migrations of this build (before a rolling upgrade)."`
	Agent       AgentCmd       `cmd:"" help:"Run the sidecar: keep a verified license in a file and on a local HTTP endpoint."`
	Bench       BenchCmd       `cmd:"" help:"Simulate a fleet against a server and measure it."`
	Version     VersionCmd     `cmd:"" help:"Print the version, commit and build date."`
	Healthcheck HealthcheckCmd `cmd:"" help:"Exit 0 if a server's /healthz answers (the container image's health check)."`
}

// VersionCmd prints the build's version, commit, date and toolchain.
type VersionCmd struct{}

// Run prints buildinfo's line to stdout.
func (VersionCmd) Run() error {
	_, err := fmt.Println(buildinfo.Read())
	return err
}

// Globals are the flags of every command that talks to a server.
type Globals struct {
	Server   string `help:"Server URL, e.g. https://127.0.0.1:7443." env:"LICENSOR_SERVER"`
	Token    string `help:"Bearer token (operator or tenant admin for admin commands)." env:"LICENSOR_TOKEN"`
	CACert   string `help:"PEM file of the CA (or self-signed certificate) to trust." env:"LICENSOR_CA_CERT" name:"ca-cert" type:"path"`
	DemoFile string `help:"Take --server, --token (the admin token) and --ca-cert from a demo.json written by serve --demo." env:"LICENSOR_DEMO_FILE" name:"demo-file" type:"path"`
	Output   string `help:"Output format: table or json." short:"o" default:"table" enum:"table,json"`
}

func main() {
	if isVersionFlag(os.Args[1:]) {
		fmt.Println(buildinfo.Read())
		return
	}
	var cli CLI
	ctx := kong.Parse(&cli, kongOptions()...)
	if err := ctx.Run(&cli.Globals); err != nil {
		fmt.Fprintf(os.Stderr, "licensor: %v\n", err)
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(ExitError)
	}
}

// isVersionFlag tells whether the command line is `licensor --version`.
// It is read before kong, because a root --version flag would reach every
// command, and `admin contract change` has a --version of its own.
func isVersionFlag(args []string) bool {
	return len(args) == 1 && (args[0] == "--version" || args[0] == "-version")
}

// kongOptions are the parser's options (tests build the same parser).
func kongOptions() []kong.Option {
	return []kong.Option{
		kong.Name("licensor"),
		kong.Description("Licensor: signed, time-limited licenses, floating capabilities and runtime checks for software vendors."),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Help(helpPrinter),
	}
}

// serverOnly are the commands that talk to no server: their help leaves
// out the client flags of Globals, which they would ignore.
var serverOnly = map[string]bool{"serve": true, "migrate": true, "version": true, "healthcheck": true}

// helpPrinter is kong's, with Globals' flags hidden on serverOnly commands.
func helpPrinter(options kong.HelpOptions, ctx *kong.Context) error {
	if cmd := ctx.Selected(); cmd != nil && serverOnly[cmd.Name] {
		for _, f := range ctx.Model.Flags {
			if isGlobal(f.Name) && !f.Hidden {
				f.Hidden = true
				defer func() { f.Hidden = false }()
			}
		}
	}
	return kong.DefaultHelpPrinter(options, ctx)
}

// isGlobal tells whether name is a flag of Globals.
func isGlobal(name string) bool {
	switch name {
	case "server", "token", "ca-cert", "demo-file", "output":
		return true
	}
	return false
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
