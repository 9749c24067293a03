package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// CompletionCmd prints the script a shell sources to complete licensor's
// commands, flags and (with a context or LICENSOR_* set) the ids of
// contracts, customers and products. The shell runs licensor itself with
// COMP_LINE set to get the candidates (github.com/posener/complete).
type CompletionCmd struct {
	Shell string `arg:"" help:"bash, zsh or fish." enum:"bash,zsh,fish"`
}

var completionScripts = map[string]string{
	"bash": "complete -C %[1]q %[2]s\n",
	"zsh":  "autoload -U +X bashcompinit && bashcompinit\ncomplete -C %[1]q %[2]s\n",
	"fish": `function __complete_%[2]s
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    %[1]q
end
complete -f -c %[2]s -a "(__complete_%[2]s)"
`,
}

func (c *CompletionCmd) Run(g *Globals) error {
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this program's path: %w", err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, completionScripts[c.Shell], bin, "licensor")
	return err
}

// answerCompletion answers a shell's completion request (COMP_LINE set) and exits;
// without one it returns at once.
func answerCompletion(parser *kong.Kong, opts ...kongplete.Option) {
	if os.Getenv("COMP_LINE") == "" {
		return
	}
	kongplete.Complete(parser, append([]kongplete.Option{
		kongplete.WithPredictor("context", complete.PredictFunc(predictContexts)),
		kongplete.WithPredictor("contract", idPredictor(listContractIDs)),
		kongplete.WithPredictor("customer", idPredictor(listCustomerIDs)),
		kongplete.WithPredictor("product", idPredictor(listProductIDs)),
	}, opts...)...)
}

func predictContexts(complete.Args) []string {
	f, _, err := (&Globals{Config: os.Getenv("LICENSOR_CONFIG")}).loadProfiles()
	if err != nil {
		return nil
	}
	var names []string
	for _, c := range f.Contexts {
		names = append(names, c.Name)
	}
	return names
}

// idPredictor lists ids from the server of the current context (or
// LICENSOR_SERVER and LICENSOR_TOKEN) with a short deadline: a slow or
// unreachable server completes nothing rather than hanging the shell.
// With --tenant on the line (or LICENSOR_TENANT) an operator's ids are
// that tenant's.
func idPredictor(list func(context.Context, licensorv1connect.AdminServiceClient, string) ([]string, error)) complete.Predictor {
	return complete.PredictFunc(func(a complete.Args) []string {
		g := &Globals{Server: os.Getenv("LICENSOR_SERVER"), Token: os.Getenv("LICENSOR_TOKEN"), CACert: os.Getenv("LICENSOR_CA_CERT"),
			Context: os.Getenv("LICENSOR_CONTEXT"), Config: os.Getenv("LICENSOR_CONFIG"), DemoFile: os.Getenv("LICENSOR_DEMO_FILE")}
		tenant := os.Getenv("LICENSOR_TENANT")
		for i, w := range a.All {
			switch {
			case w == "--tenant" && i+1 < len(a.All):
				tenant = a.All[i+1]
			case strings.HasPrefix(w, "--tenant="):
				tenant = strings.TrimPrefix(w, "--tenant=")
			case w == "--context" && i+1 < len(a.All):
				g.Context = a.All[i+1]
			}
		}
		cl, err := g.adminClient()
		if err != nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ids, _ := list(ctx, cl, tenant)
		return ids
	})
}

func listContractIDs(ctx context.Context, cl licensorv1connect.AdminServiceClient, tenant string) ([]string, error) {
	res, err := cl.ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{TenantId: tenant, PageSize: 1000}))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range res.Msg.Contracts {
		ids = append(ids, c.Id)
	}
	return ids, nil
}

func listCustomerIDs(ctx context.Context, cl licensorv1connect.AdminServiceClient, tenant string) ([]string, error) {
	res, err := cl.ListCustomers(ctx, connect.NewRequest(&v1.ListCustomersRequest{TenantId: tenant, PageSize: 1000}))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range res.Msg.Customers {
		ids = append(ids, c.Id)
	}
	return ids, nil
}

func listProductIDs(ctx context.Context, cl licensorv1connect.AdminServiceClient, tenant string) ([]string, error) {
	res, err := cl.ListProducts(ctx, connect.NewRequest(&v1.ListProductsRequest{TenantId: tenant, PageSize: 1000}))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range res.Msg.Products {
		ids = append(ids, p.Id)
	}
	return ids, nil
}
