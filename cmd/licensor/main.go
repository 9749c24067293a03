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
)

// CLI is the command tree.
type CLI struct {
	Globals
	Serve   ServeCmd   `cmd:"" help:"Run the license server."`
	Admin   AdminCmd   `cmd:"" help:"Manage tenants, products, contracts, tokens and keys through the API."`
	License LicenseCmd `cmd:"" help:"Issue and verify static license files."`
	Offline OfflineCmd `cmd:"" help:"Activate an air-gapped machine by file exchange: request, respond, return."`
	Migrate MigrateCmd `cmd:"" help:"Apply the database migrations of this build (before a rolling upgrade)."`
	Agent   AgentCmd   `cmd:"" help:"Run the sidecar: keep a verified license in a file and on a local HTTP endpoint."`
	Bench   BenchCmd   `cmd:"" help:"Simulate a fleet against a server and measure it."`
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
	var cli CLI
	ctx := kong.Parse(&cli,
		kong.Name("licensor"),
		kong.Description("Licensor: signed, time-limited licenses, floating capabilities and runtime checks for software vendors."),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err := ctx.Run(&cli.Globals); err != nil {
		fmt.Fprintf(os.Stderr, "licensor: %v\n", err)
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(ExitError)
	}
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
