package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

type ContractCmd struct {
	Create ContractCreateCmd `cmd:"" help:"Create a contract."`
	Get    ContractGetCmd    `cmd:"" help:"Show a contract."`
	List   ContractListCmd   `cmd:"" help:"List contracts."`
	Change ContractChangeCmd `cmd:"" help:"Change features or terms; the next license says so. -f replaces the whole feature set; --add and --remove change single features."`
	Extend ContractExtendCmd `cmd:"" help:"Move the end date later."`
	End    ContractEndCmd    `cmd:"" help:"End a contract now."`
}

var contractHeader = []string{"ID", "NAME", "CUSTOMER", "PRODUCT", "STATUS", "STARTS", "ENDS", "FEATURES", "SEATS", "VALIDITY", "REFRESH", "FALLBACK", "VERSION"}

func contractRows(cs ...*v1.Contract) (rows [][]string) {
	for _, c := range cs {
		var fs []string
		for _, f := range c.Features {
			if f.Count > 0 {
				fs = append(fs, fmt.Sprintf("%s=%d", f.Feature, f.Count))
			} else {
				fs = append(fs, f.Feature)
			}
		}
		seats := fmt.Sprintf("%d/%d", c.SeatsUsed, c.MaxSeats)
		if c.MaxSeats == 0 {
			seats = fmt.Sprintf("%d/unlimited", c.SeatsUsed)
		}
		rule := c.SeatRule
		if c.SeatRule == string(licensor.SeatProductionURL) {
			rule += fmt.Sprintf(", non-production %d/%s", c.NonProductionUrlsUsed, limit(c.MaxNonProductionUrls))
		}
		rows = append(rows, []string{c.Id, orDash(c.Name), c.CustomerId, c.ProductId, c.Status, fmtTS(c.StartsAt), fmtTS(c.EndsAt), orDash(strings.Join(fs, ",")),
			seats + " (" + rule + ")", fmtDur(c.LicenseValidity), fmtDur(c.RefreshInterval), c.Fallback, strconv.FormatInt(c.Version, 10)})
	}
	return rows
}

type ContractCreateCmd struct {
	tenantFlag
	Customer         string   `required:"" help:"Customer id." predictor:"customer"`
	Product          string   `required:"" help:"Product id." predictor:"product"`
	Name             string   `help:"Contract name."`
	Starts           Time     `help:"Start: a time, or a duration from now such as 7d (default now)." relative:"future"`
	Ends             Time     `help:"End: a time, or a duration from now such as 365d (default: none)." relative:"future"`
	Feature          []string `help:"Feature granted: name=count for counted, name for boolean. Repeatable." short:"f"`
	Validity         Dur      `help:"License validity (default 14d)."`
	Refresh          Dur      `help:"Refresh interval (default 2h)."`
	SeatRule         string   `help:"instance or production_url." default:"instance" enum:"instance,production_url"`
	MaxSeats         int32    `help:"Seats (0: unlimited)."`
	MaxNonProduction int32    `help:"production_url contracts: how many non-production (staging, development, test) URLs may hold a license at once (0: unlimited)." name:"max-non-production"`
	RefuseClones     bool     `help:"Refuse a second machine (another fingerprint) checking in with the same instance id within the refresh interval (FAILED_PRECONDITION); without it the clone is only flagged." name:"refuse-clones"`
	Fallback         string   `help:"none or perpetual." default:"none" enum:"none,perpetual"`
	MaxBorrow        Dur      `help:"Longest borrow (default 7d)."`
	ClientCA         string   `help:"PEM file of a CA; instances must then present a client certificate it issued." name:"client-ca" type:"existingfile"`
	metadataFlags
}

func (c *ContractCreateCmd) Run(g *Globals) error {
	fs, err := parseFeatures(c.Feature)
	if err != nil {
		return err
	}
	md, _, err := c.parse()
	if err != nil {
		return err
	}
	req := &v1.CreateContractRequest{
		TenantId: c.TenantID, CustomerId: c.Customer, ProductId: c.Product, Name: c.Name,
		Metadata: md, StartsAt: c.Starts.pb(), EndsAt: c.Ends.pb(), Features: fs, LicenseValidity: c.Validity.pb(), RefreshInterval: c.Refresh.pb(),
		SeatRule: c.SeatRule, MaxSeats: c.MaxSeats, Fallback: c.Fallback, MaxBorrow: c.MaxBorrow.pb(),
		MaxNonProductionUrls: c.MaxNonProduction, RefuseClones: c.RefuseClones,
	}
	if c.ClientCA != "" {
		b, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return err
		}
		req.ClientCaPem = string(b)
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.CreateContract(ctx, connect.NewRequest(req))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, contractHeader, nameContractRows(ctx, g, cl, c.TenantID, contractRows(res.Msg.Contract)))
	})
}

type ContractGetCmd struct {
	tenantFlag
	ID string `arg:"" help:"Contract id." predictor:"contract"`
}

func (c *ContractGetCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{TenantId: c.TenantID, ContractId: c.ID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, contractHeader, nameContractRows(ctx, g, cl, c.TenantID, contractRows(res.Msg.Contract)))
	})
}

type ContractListCmd struct {
	tenantFlag
	pageFlags
	Customer string `help:"Only this customer's contracts." predictor:"customer"`
	Status   string `help:"Only contracts in this status." enum:",scheduled,active,suspended,ended" default:""`
}

func (c *ContractListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{TenantId: c.TenantID, CustomerId: c.Customer, Status: c.Status, PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, contractHeader, nameContractRows(ctx, g, cl, c.TenantID, contractRows(res.Msg.Contracts...)), res.Msg.NextPageToken)
	})
}

type ContractChangeCmd struct {
	tenantFlag
	ID               string   `arg:"" help:"Contract id." predictor:"contract"`
	Feature          []string `help:"Replace the WHOLE feature set with these: name=count or name. Repeatable; a feature not listed is removed. See --add and --remove." short:"f"`
	Add              []string `help:"Add a feature, or set a counted feature's count: name=count or name. Repeatable; other features stay."`
	Remove           []string `help:"Remove this feature. Repeatable; other features stay."`
	NoFeature        bool     `help:"Remove every feature."`
	Validity         Dur      `help:"License validity."`
	Refresh          Dur      `help:"Refresh interval."`
	MaxSeats         *int32   `help:"Seats (0: unlimited)."`
	MaxNonProduction *int32   `help:"production_url contracts: how many non-production URLs may hold a license at once (0: unlimited)." name:"max-non-production"`
	RefuseClones     *bool    `help:"Refuse (true) or only flag (false) a second machine checking in with the same instance id." name:"refuse-clones"`
	Fallback         string   `help:"none or perpetual." enum:",none,perpetual" default:""`
	MaxBorrow        Dur      `help:"Longest borrow."`
	Status           string   `help:"active or suspended." enum:",active,suspended" default:""`
	Name             string   `help:"New name."`
	Version          int64    `help:"Apply only if the contract is still at this version."`
	metadataFlags
}

func (c *ContractChangeCmd) Run(g *Globals) error {
	req := &v1.ChangeContractRequest{TenantId: c.TenantID, ContractId: c.ID, LicenseValidity: c.Validity.pb(), RefreshInterval: c.Refresh.pb(),
		MaxSeats: c.MaxSeats, MaxNonProductionUrls: c.MaxNonProduction, MaxBorrow: c.MaxBorrow.pb(), ExpectedVersion: c.Version,
		RefuseClones: c.RefuseClones}
	edit := len(c.Add) > 0 || len(c.Remove) > 0
	if edit && (len(c.Feature) > 0 || c.NoFeature) {
		return usageError(errors.New("-f/--feature and --no-feature replace the feature set; --add and --remove edit it: give one or the other"))
	}
	md, set, err := c.parse()
	if err != nil {
		return err
	}
	req.Metadata, req.SetMetadata = md, set
	if len(c.Feature) > 0 || c.NoFeature {
		fs, err := parseFeatures(c.Feature)
		if err != nil {
			return usageError(err)
		}
		req.Features, req.SetFeatures = fs, true
	}
	add, err := parseFeatures(c.Add)
	if err != nil {
		return usageError(err)
	}
	if c.Fallback != "" {
		req.Fallback = &c.Fallback
	}
	if c.Status != "" {
		req.Status = &c.Status
	}
	if c.Name != "" {
		req.Name = &c.Name
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		if edit {
			// Read the set, edit it, and write it back only if nobody
			// changed the contract in between (a conflict says so).
			cur, err := cl.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{TenantId: c.TenantID, ContractId: c.ID}))
			if err != nil {
				return err
			}
			if req.Features, err = editFeatures(cur.Msg.Contract.Features, add, c.Remove); err != nil {
				return err
			}
			req.SetFeatures = true
			if req.ExpectedVersion == 0 {
				req.ExpectedVersion = cur.Msg.Contract.Version
			}
		}
		res, err := cl.ChangeContract(ctx, connect.NewRequest(req))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, contractHeader, nameContractRows(ctx, g, cl, c.TenantID, contractRows(res.Msg.Contract)))
	})
}

type ContractExtendCmd struct {
	tenantFlag
	ID   string `arg:"" help:"Contract id." predictor:"contract"`
	Ends Time   `help:"New end: a time, or a duration from now such as 30d." relative:"future"`
	By   Dur    `help:"Add this to the current end (e.g. 30d)."`
}

func (c *ContractExtendCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ExtendContract(ctx, connect.NewRequest(&v1.ExtendContractRequest{TenantId: c.TenantID, ContractId: c.ID, EndsAt: c.Ends.pb(), ExtendBy: c.By.pb()}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, contractHeader, nameContractRows(ctx, g, cl, c.TenantID, contractRows(res.Msg.Contract)))
	})
}

type ContractEndCmd struct {
	tenantFlag
	ID string `arg:"" help:"Contract id." predictor:"contract"`
}

func (c *ContractEndCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.EndContract(ctx, connect.NewRequest(&v1.EndContractRequest{TenantId: c.TenantID, ContractId: c.ID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, contractHeader, nameContractRows(ctx, g, cl, c.TenantID, contractRows(res.Msg.Contract)))
	})
}

// limit shows a cap, 0 being unlimited.
func limit(n int32) string {
	if n == 0 {
		return "unlimited"
	}
	return strconv.Itoa(int(n))
}

// editFeatures returns fs with add put in (replacing a feature of the same
// name) and remove taken out; removing a feature fs lacks is an error, as
// it is most likely a typo.
func editFeatures(fs, add []*v1.Entitlement, remove []string) ([]*v1.Entitlement, error) {
	out := make([]*v1.Entitlement, 0, len(fs)+len(add))
	drop := map[string]bool{}
	for _, name := range remove {
		drop[name] = true
	}
	for _, a := range add {
		if drop[a.Feature] {
			return nil, usageError(fmt.Errorf("--add and --remove both name %q", a.Feature))
		}
		drop[a.Feature] = true // replaced by the added one below
	}
	found := map[string]bool{}
	for _, f := range fs {
		found[f.Feature] = true
		if !drop[f.Feature] {
			out = append(out, f)
		}
	}
	for _, name := range remove {
		if !found[name] {
			return nil, usageError(fmt.Errorf("--remove %s: the contract has no such feature", name))
		}
	}
	return append(out, add...), nil
}
