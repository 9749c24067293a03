// Command licensor is the one binary of Licensor: the server (serve), its
// admin CLI (admin), offline license tools (license), the sidecar agent
// (agent) and the fleet simulator (bench).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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
	Login       LoginCmd       `cmd:"" help:"Save a server, its CA and a token as a named context, and make it current."`
	Config      ConfigCmd      `cmd:"" help:"Named contexts (server, CA, token reference) in the config file."`
	Completion  CompletionCmd  `cmd:"" help:"Print a shell completion script: bash, zsh or fish."`
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

// Globals are the flags of every command that talks to a server. Where one
// is not given, the current context of the config file (licensor login)
// fills it in; a flag or LICENSOR_* variable always wins.
type Globals struct {
	Server   string `help:"Server URL, e.g. https://127.0.0.1:7443." env:"LICENSOR_SERVER"`
	Token    string `help:"Bearer token (operator or tenant admin for admin commands); for admin, login, config and agent, env:NAME or file:PATH reads it from there." env:"LICENSOR_TOKEN"`
	CACert   string `help:"PEM file of the CA (or self-signed certificate) to trust." env:"LICENSOR_CA_CERT" name:"ca-cert" type:"path"`
	DemoFile string `help:"Take --server, --token (the admin token) and --ca-cert from a demo.json written by serve --demo." env:"LICENSOR_DEMO_FILE" name:"demo-file" type:"path"`
	Context  string `help:"Use this context of the config file instead of the current one." env:"LICENSOR_CONTEXT" name:"context" predictor:"context"`
	Config   string `help:"Config file of the contexts (default: licensor/config.json in the user's config directory)." env:"LICENSOR_CONFIG" name:"config" type:"path"`
	Output   string `help:"Output format: table, json, yaml, or id (only the ids, one a line)." short:"o" default:"table" enum:"table,json,yaml,id"`

	resolved bool // resolve has run: Server, Token and CACert are final
}

const description = `Licensor: signed, time-limited licenses, floating capabilities and runtime checks for software vendors.

` + exitCodes

// parserOptions are the options of the command tree, shared with the tests.
func parserOptions() []kong.Option {
	return []kong.Option{
		kong.Name("licensor"),
		kong.Description(description),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Help(helpPrinter),
		durationMapper(),
	}
}

func main() {
	if isVersionFlag(os.Args[1:]) {
		fmt.Println(buildinfo.Read())
		return
	}
	var cli CLI
	parser, err := kong.New(&cli, parserOptions()...)
	if err != nil {
		panic(err) // the command tree itself is wrong: a bug of this build
	}
	answerCompletion(parser)
	os.Exit(run(parser, &cli, os.Args[1:], os.Stderr))
}

// helpWithExitCodes is kong's help, ending with the exit codes on every
// command's page (the top level has them in its description).
func helpWithExitCodes(options kong.HelpOptions, ctx *kong.Context) error {
	if err := kong.DefaultHelpPrinter(options, ctx); err != nil {
		return err
	}
	if ctx.Selected() != nil {
		fmt.Fprintf(ctx.Stdout, "\n%s\n", wrapText(exitCodes, 80))
	}
	return nil
}

// wrapText breaks s into lines of at most width characters at spaces.
func wrapText(s string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		if i > 0 && n+1+len(w) > width {
			b.WriteByte('\n')
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// run parses args and runs the command, printing an error as one line (and
// for a usage error, where to read more); it returns the exit code.
func run(parser *kong.Kong, cli *CLI, args []string, stderr io.Writer) int {
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "licensor: %v\n", err)
		fmt.Fprintf(stderr, "run '%s --help' for usage\n", commandPath(err))
		return ExitInvalid
	}
	err = kctx.Run(&cli.Globals)
	if err != nil {
		fmt.Fprintf(stderr, "licensor: %v\n", err)
	}
	return exitCode(err)
}

// commandPath is "licensor admin contract create" for a parse error inside
// that command: the deepest command the arguments reached.
func commandPath(err error) string {
	var pe *kong.ParseError
	if !errors.As(err, &pe) || pe.Context == nil {
		return "licensor"
	}
	var names []string
	for _, p := range pe.Context.Path {
		if p.Command != nil {
			names = append(names, p.Command.Name)
		}
	}
	return strings.Join(append([]string{"licensor"}, names...), " ")
}

// isVersionFlag tells whether the command line is `licensor --version`.
// It is read before kong, because a root --version flag would reach every
// command, and `admin contract change` has a --version of its own.
func isVersionFlag(args []string) bool {
	return len(args) == 1 && (args[0] == "--version" || args[0] == "-version")
}

// serverOnly are the commands that talk to no server: their help leaves
// out the client flags of Globals, which they would ignore.
var serverOnly = map[string]bool{"serve": true, "migrate": true, "version": true, "healthcheck": true}

// helpPrinter is helpWithExitCodes, with Globals' flags hidden on
// serverOnly commands.
func helpPrinter(options kong.HelpOptions, ctx *kong.Context) error {
	if cmd := ctx.Selected(); cmd != nil && serverOnly[cmd.Name] {
		for _, f := range ctx.Model.Flags {
			if isGlobal(f.Name) && !f.Hidden {
				f.Hidden = true
				defer func() { f.Hidden = false }()
			}
		}
	}
	return helpWithExitCodes(options, ctx)
}

// isGlobal tells whether name is a flag of Globals.
func isGlobal(name string) bool {
	switch name {
	case "server", "token", "ca-cert", "demo-file", "context", "config", "output":
		return true
	}
	return false
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
