package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/atomicfile"
	"github.com/licensor/licensor/license"
)

type LicenseCmd struct {
	Issue  LicenseIssueCmd  `cmd:"" help:"Issue a static license file for an offline site (through the API)."`
	Verify LicenseVerifyCmd `cmd:"" help:"Verify a license file offline against a JWKS (file or URL)."`
}

type LicenseIssueCmd struct {
	tenantFlag
	Contract    string `required:"" help:"Contract id." predictor:"contract"`
	Instance    string `required:"" help:"Instance id the file is for."`
	Validity    Dur    `help:"How long the file is valid (default 365d, never past the contract end)."`
	Environment string `help:"Environment the file is for (production, staging, development, test), put in its environment claim; default none: unrestricted." enum:",production,staging,development,test" default:""`
	Out         string `help:"Write the file here (default: standard output)." short:"O"`
}

func (c *LicenseIssueCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.IssueLicenseFile(ctx, connect.NewRequest(&v1.IssueLicenseFileRequest{TenantId: c.TenantID, ContractId: c.Contract, InstanceId: c.Instance, Validity: c.Validity.pb(), Environment: c.Environment}))
		if err != nil {
			return err
		}
		if c.Out == "" {
			_, err = io.WriteString(stdout, res.Msg.LicenseFile)
			return err
		}
		if err := atomicfile.Write(c.Out, []byte(res.Msg.LicenseFile), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "license %s written to %s, valid until %s\n", res.Msg.License.LicenseId, c.Out, fmtTS(res.Msg.License.ExpiresAt))
		return nil
	})
}

type LicenseVerifyCmd struct {
	File     string `arg:"" help:"License file (armored or a bare JWS); - for standard input."`
	JWKS     string `required:"" help:"The tenant's JWKS: a file, or a URL such as https://host:7443/.well-known/jwks.json?tenant=ten_..." name:"jwks"`
	Instance string `help:"Also require the license to be for this instance."`
	Contract string `help:"Also require the license to be for this contract."`
	At       Time   `help:"Check validity at this time instead of now (a duration such as 30d means that long from now)." relative:"future"`
}

// Run verifies offline: signature, alg, kid, typ, claims and time. It exits
// non-zero with one line saying what is wrong.
func (c *LicenseVerifyCmd) Run(g *Globals) error {
	var data []byte
	var err error
	if c.File == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	} else {
		data, err = os.ReadFile(c.File)
	}
	if err != nil {
		return err
	}
	token, err := license.Dearmor(data)
	if err != nil {
		return exitError{ExitInvalid, fmt.Errorf("%s: INVALID: %s", c.File, licensor.ErrorMessage(err))}
	}
	jwks, err := c.loadJWKS(g)
	if err != nil {
		return err
	}
	keys, err := license.ParseJWKS(jwks)
	if err != nil {
		return fmt.Errorf("--jwks: %v", err)
	}
	at := time.Now()
	if !time.Time(c.At).IsZero() {
		at = time.Time(c.At)
	}
	claims, err := license.Verify(token, keys, license.VerifyOptions{Now: at})
	if licensor.ErrorCode(err) == licensor.EPRECONDITION || (err != nil && strings.Contains(licensor.ErrorMessage(err), "not valid before")) {
		return exitError{ExitExpired, fmt.Errorf("%s: EXPIRED: %s", c.File, licensor.ErrorMessage(err))}
	}
	if err != nil {
		return exitError{ExitInvalid, fmt.Errorf("%s: INVALID: %s", c.File, licensor.ErrorMessage(err))}
	}
	if c.Instance != "" && claims.Subject != c.Instance {
		return exitError{ExitInvalid, fmt.Errorf("%s: INVALID: license is for instance %q, not %q", c.File, claims.Subject, c.Instance)}
	}
	if c.Contract != "" && claims.Contract != c.Contract {
		return exitError{ExitInvalid, fmt.Errorf("%s: INVALID: license is for contract %q, not %q", c.File, claims.Contract, c.Contract)}
	}
	switch g.Output {
	case outJSON, outYAML:
		return emitValue(g, claims)
	case outID:
		_, err := fmt.Fprintln(stdout, claims.ID)
		return err
	}
	var fs []string
	for name := range claims.Features {
		if n := claims.Count(name); n > 1 || (n == 1 && claims.Features[name] != true) {
			fs = append(fs, fmt.Sprintf("%s=%d", name, n))
		} else {
			fs = append(fs, name)
		}
	}
	sort.Strings(fs)
	fmt.Fprintf(stdout, "VALID license %s\n  tenant    %s\n  contract  %s\n  customer  %s\n  instance  %s\n  kind      %s\n  features  %s\n  valid     %s .. %s (%s left)\n",
		claims.ID, claims.Issuer, claims.Contract, claims.Customer, claims.Subject, claims.Kind, strings.Join(fs, ", "),
		claims.NotBeforeTime().UTC().Format(time.RFC3339), claims.ExpiresAt().UTC().Format(time.RFC3339), formatDur(claims.ExpiresAt().Sub(at).Round(time.Minute)))
	if claims.IsFallback() {
		fmt.Fprintf(stdout, "  fallback  only releases published up to %s\n", time.Unix(claims.FallbackCutoff, 0).UTC().Format(time.RFC3339))
	}
	if claims.Environment != "" {
		fmt.Fprintf(stdout, "  env       %s\n", claims.Environment)
	}
	return nil
}

func (c *LicenseVerifyCmd) loadJWKS(g *Globals) ([]byte, error) {
	if !strings.HasPrefix(c.JWKS, "https://") && !strings.HasPrefix(c.JWKS, "http://") {
		return os.ReadFile(c.JWKS)
	}
	hc, err := g.httpClient()
	if err != nil {
		return nil, err
	}
	res, err := hc.Get(c.JWKS)
	if err != nil {
		if _, hint := client.Diagnose(context.Background(), err, c.JWKS, client.SettingNames{Server: "--jwks", CAFile: "--ca-cert"}); hint != "" {
			return nil, fmt.Errorf("--jwks: %s", hint)
		}
		return nil, fmt.Errorf("--jwks: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("--jwks: %s answered %s: %s", c.JWKS, res.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
