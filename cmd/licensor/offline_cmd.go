package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/atomicfile"
	"github.com/licensor/licensor/license"
)

// OfflineCmd is the file exchange with an air-gapped machine: request and
// return run on the machine (no server); respond, accept-return, release
// and show talk to the server with an admin token.
type OfflineCmd struct {
	Request      OfflineRequestCmd      `cmd:"" help:"On the air-gapped machine: create an instance key (mode 0600) and a signed request file."`
	Respond      OfflineRespondCmd      `cmd:"" help:"Answer a request file with a license file bound to its machine; takes a seat (through the API)."`
	Return       OfflineReturnCmd       `cmd:"" help:"On the machine: delete its bound license and key, and write the signed return file."`
	AcceptReturn OfflineAcceptReturnCmd `cmd:"" name:"accept-return" help:"Free the seat of a returned license on the machine's return file (through the API)."`
	Release      OfflineReleaseCmd      `cmd:"" help:"Free the seat of an offline license without a return file (a lost machine); audited with the reason."`
	Show         OfflineShowCmd         `cmd:"" help:"Show an offline license: its machine, key and whether its seat is free."`
}

// machineFlag is the fingerprint's source.
type machineFlag struct {
	MachineIDFile string `help:"Read the machine id from this file instead of /etc/machine-id (e.g. a container given the host's)." name:"machine-id-file" type:"path" env:"LICENSOR_MACHINE_ID_FILE"`
}

func (m machineFlag) source() client.MachineIDSource {
	if m.MachineIDFile == "" {
		return nil
	}
	return func() ([]byte, error) {
		b, err := os.ReadFile(m.MachineIDFile)
		return bytes.TrimSpace(b), err
	}
}

type OfflineRequestCmd struct {
	machineFlag
	Contract string `required:"" help:"Contract id."`
	Product  string `required:"" help:"The contract's product id (it salts the machine fingerprint)."`
	Instance string `required:"" help:"Instance id of this machine."`
	Tenant   string `help:"Vendor's tenant id: any other vendor's server then refuses the request." env:"LICENSOR_TENANT"`
	Key      string `help:"Where the instance key is written (mode 0600); must not exist." default:"./licensor-instance.key" type:"path"`
	Out      string `help:"Write the request file here (default: standard output)." short:"O" type:"path"`
}

func (c *OfflineRequestCmd) Run(g *Globals) error {
	file, err := client.CreateOfflineRequest(client.OfflineRequest{
		TenantID: c.Tenant, ContractID: c.Contract, ProductID: c.Product, InstanceID: c.Instance,
		KeyFile: c.Key, MachineID: c.source(),
	})
	if err != nil {
		return fmt.Errorf("offline request: %s", licensor.ErrorMessage(err))
	}
	return writeFileOrStdout(c.Out, file, "request file", "instance key in "+c.Key+" (keep it: the license will be bound to it)")
}

// writeFileOrStdout writes data to path (mode 0600) or standard output.
func writeFileOrStdout(path string, data []byte, what, note string) error {
	if path == "" {
		_, err := stdout.Write(data)
		if err == nil && note != "" {
			fmt.Fprintln(os.Stderr, note)
		}
		return err
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s written to %s", what, path)
	if note != "" {
		fmt.Fprintf(os.Stderr, "; %s", note)
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

// readArg reads a file argument, - for standard input.
func readArg(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	return string(b), err
}

type OfflineRespondCmd struct {
	tenantFlag
	File     string `arg:"" help:"The request file the machine wrote; - for standard input."`
	Validity Dur    `help:"How long the license is valid (default 365d, never past the contract end)."`
	Out      string `help:"Write the license file here (default: standard output)." short:"O" type:"path"`
}

func (c *OfflineRespondCmd) Run(g *Globals) error {
	req, err := readArg(c.File)
	if err != nil {
		return err
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.RespondOfflineRequest(ctx, connect.NewRequest(&v1.RespondOfflineRequestRequest{TenantId: c.TenantID, RequestFile: req, Validity: c.Validity.pb()}))
		if err != nil {
			return err
		}
		a := res.Msg.Activation
		note := fmt.Sprintf("license %s for instance %s, bound to key %s, valid until %s", a.LicenseId, a.InstanceId, a.KeyThumbprint, fmtTS(a.ExpiresAt))
		return writeFileOrStdout(c.Out, []byte(res.Msg.LicenseFile), "license file", note)
	})
}

type OfflineReturnCmd struct {
	machineFlag
	License string `required:"" help:"The bound license file to give up." type:"path"`
	Key     string `help:"Its instance key." default:"./licensor-instance.key" type:"path"`
	Keys    string `required:"" help:"JWKS file of the vendor's public keys, to check the license before giving it up." type:"path"`
	Out     string `required:"" help:"Where the return file is written (mode 0600), before the license and key are deleted." short:"O" type:"path"`
}

func (c *OfflineReturnCmd) Run(g *Globals) error {
	b, err := os.ReadFile(c.Keys)
	if err != nil {
		return fmt.Errorf("--keys: %w", err)
	}
	keys, err := license.ParseJWKS(b)
	if err != nil {
		return fmt.Errorf("--keys %s: %s", c.Keys, licensor.ErrorMessage(err))
	}
	if _, err := client.CreateOfflineReturn(client.OfflineReturn{LicenseFile: c.License, KeyFile: c.Key, ReturnFile: c.Out, Keys: keys, MachineID: c.source()}); err != nil {
		return fmt.Errorf("offline return: %s", licensor.ErrorMessage(err))
	}
	fmt.Fprintf(os.Stderr, "return file written to %s; %s and %s deleted: send the return file to the vendor\n", c.Out, c.License, c.Key)
	return nil
}

type OfflineAcceptReturnCmd struct {
	tenantFlag
	File string `arg:"" help:"The return file the machine wrote; - for standard input."`
}

func (c *OfflineAcceptReturnCmd) Run(g *Globals) error {
	ret, err := readArg(c.File)
	if err != nil {
		return err
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ReturnOfflineLicense(ctx, connect.NewRequest(&v1.ReturnOfflineLicenseRequest{TenantId: c.TenantID, ReturnFile: ret}))
		if err != nil {
			return err
		}
		return emitOffline(g, res.Msg, res.Msg.Activation)
	})
}

type OfflineReleaseCmd struct {
	tenantFlag
	LicenseID string `required:"" name:"license-id" help:"The offline license's id (lic_...)."`
	Reason    string `required:"" help:"Why the seat is freed without the machine's return file (kept in the audit log)."`
}

func (c *OfflineReleaseCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ReleaseOfflineLicense(ctx, connect.NewRequest(&v1.ReleaseOfflineLicenseRequest{TenantId: c.TenantID, LicenseId: c.LicenseID, Reason: c.Reason}))
		if err != nil {
			return err
		}
		return emitOffline(g, res.Msg, res.Msg.Activation)
	})
}

type OfflineShowCmd struct {
	tenantFlag
	LicenseID string `arg:"" help:"The offline license's id (lic_...)."`
}

func (c *OfflineShowCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetOfflineLicense(ctx, connect.NewRequest(&v1.GetOfflineLicenseRequest{TenantId: c.TenantID, LicenseId: c.LicenseID}))
		if err != nil {
			return err
		}
		return emitOffline(g, res.Msg, res.Msg.Activation)
	})
}

func emitOffline(g *Globals, msg proto.Message, a *v1.OfflineActivation) error {
	release := a.Release
	if release == "" {
		release = "holds its seat"
	}
	return emit(g, msg, []string{"LICENSE", "CONTRACT", "INSTANCE", "KEY", "EXPIRES", "RELEASED", "RELEASE"},
		[][]string{{a.LicenseId, a.ContractId, a.InstanceId, a.KeyThumbprint, fmtTS(a.ExpiresAt), fmtTS(a.ReleasedAt), release}})
}

// writeOfflineRequest is `licensor agent --offline-request FILE`: the
// agent's machine makes its request file and the agent exits; once the
// license file comes back, the agent runs with --license-file and
// --instance-key.
func (a *AgentCmd) writeOfflineRequest(g *Globals) error {
	cfg, err := a.clientConfig(g)
	if err != nil {
		return err
	}
	if cfg.InstanceID == "" {
		return fmt.Errorf("--offline-request needs --instance: the license is bound to that instance id")
	}
	if a.Product == "" {
		return fmt.Errorf("--offline-request needs --product, the contract's product id")
	}
	key := a.InstanceKey
	if key == "" {
		return fmt.Errorf("--offline-request needs --instance-key, where the instance key is kept")
	}
	file, err := client.CreateOfflineRequest(client.OfflineRequest{TenantID: cfg.TenantID, ContractID: cfg.ContractID,
		ProductID: a.Product, InstanceID: cfg.InstanceID, KeyFile: key, MachineID: a.machineFlag.source()})
	if err != nil {
		return fmt.Errorf("offline request: %s", licensor.ErrorMessage(err))
	}
	return writeFileOrStdout(a.OfflineRequest, file, "request file", "instance key in "+key)
}
