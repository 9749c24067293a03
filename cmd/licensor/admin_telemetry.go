package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// TelemetryCmd groups the telemetry commands: what instances report with
// their checks.
type TelemetryCmd struct {
	History  TelemetryHistoryCmd  `cmd:"" help:"A contract's telemetry over time (one counter with --counter)."`
	Summary  TelemetrySummaryCmd  `cmd:"" help:"Versions, environments and counters across the fleet."`
	Export   TelemetryExportCmd   `cmd:"" help:"Export telemetry history (or the latest with --latest) as CSV or JSON."`
	Settings TelemetrySettingsCmd `cmd:"" help:"Change what the tenant keeps: retention, dropped fields, IP truncation."`
}

type telemetryRange struct {
	Since Time `help:"From this time: RFC 3339, a date, or a duration ago such as 7d."`
	Until Time `help:"Up to (not including) this time."`
}

type TelemetryHistoryCmd struct {
	tenantFlag
	pageFlags
	telemetryRange
	Contract string `required:"" help:"Contract id." predictor:"contract"`
	Instance string `help:"Only this instance (any spelling of a production URL)."`
	Counter  string `help:"Show this usage counter's value in a column of its own."`
}

func usageString(u map[string]int64) string {
	keys := make([]string, 0, len(u))
	for k := range u {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatInt(u[k], 10)
	}
	return strings.Join(parts, ",")
}

func (c *TelemetryHistoryCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetTelemetryHistory(ctx, connect.NewRequest(&v1.GetTelemetryHistoryRequest{
			TenantId: c.TenantID, ContractId: c.Contract, InstanceId: c.Instance,
			Since: c.Since.pb(), Until: c.Until.pb(), PageSize: c.PageSize, PageToken: c.PageToken,
		}))
		if err != nil {
			return err
		}
		header := []string{"AT", "INSTANCE", "ENVIRONMENT", "VERSION", "USAGE"}
		if c.Counter != "" {
			header[4] = strings.ToUpper(c.Counter)
		}
		var rows [][]string
		for _, p := range res.Msg.Points {
			t := p.Telemetry
			last := orDash(usageString(t.GetUsage()))
			if c.Counter != "" {
				v, ok := t.GetUsage()[c.Counter]
				if !ok {
					continue // this report did not carry the counter
				}
				last = strconv.FormatInt(v, 10)
			}
			rows = append(rows, []string{fmtTS(p.At), p.InstanceId, orDash(t.GetEnvironment()), orDash(t.GetProductVersion()), last})
		}
		return emitPage(g, res.Msg, header, rows, res.Msg.NextPageToken)
	})
}

type TelemetrySummaryCmd struct {
	tenantFlag
	Contract string `help:"Only this contract." predictor:"contract"`
}

func (c *TelemetrySummaryCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetFleetSummary(ctx, connect.NewRequest(&v1.GetFleetSummaryRequest{TenantId: c.TenantID, ContractId: c.Contract}))
		if err != nil {
			return err
		}
		s := res.Msg
		rows := [][]string{{"instances", "", strconv.FormatInt(s.Instances, 10), "", ""}}
		for _, group := range []struct {
			name string
			vs   []*v1.CountByValue
		}{{"product version", s.ProductVersions}, {"environment", s.Environments}, {"runtime", s.RuntimeVersions}} {
			for _, v := range group.vs {
				rows = append(rows, []string{group.name, v.Value, strconv.FormatInt(v.Instances, 10), "", ""})
			}
		}
		for _, ct := range s.Counters {
			rows = append(rows, []string{"counter", ct.Name, strconv.FormatInt(ct.Instances, 10), strconv.FormatInt(ct.Sum, 10), strconv.FormatInt(ct.Max, 10)})
		}
		return emit(g, s, []string{"WHAT", "VALUE", "INSTANCES", "SUM", "MAX"}, rows)
	})
}

type TelemetryExportCmd struct {
	tenantFlag
	telemetryRange
	Contract string   `help:"Only this contract (default: every contract of the tenant)." predictor:"contract"`
	Instance string   `help:"Only this instance (with --contract)."`
	Latest   bool     `help:"Export each instance's latest telemetry instead of the history."`
	Format   string   `help:"csv or json." default:"csv" enum:"csv,json"`
	Counter  []string `help:"Also put this usage counter in a column of its own (CSV). Repeatable."`
	Out      string   `help:"Write to this file instead of standard output." short:"O" type:"path"`
}

// exportRecord is one exported report. Telemetry uses the domain type so
// counters come out as JSON numbers, not protojson's int64 strings.
type exportRecord struct {
	At         string             `json:"at"`
	ContractID string             `json:"contract_id"`
	InstanceID string             `json:"instance_id"`
	Telemetry  licensor.Telemetry `json:"telemetry"`
}

func domainTelemetry(t *v1.Telemetry) licensor.Telemetry {
	return licensor.Telemetry{
		ProductVersion: t.GetProductVersion(), RuntimeVersions: t.GetRuntimeVersions(), Environment: t.GetEnvironment(),
		ServerHost: t.GetServerHost(), ServerIP: t.GetServerIp(), ServerPort: int(t.GetServerPort()), AppName: t.GetAppName(),
		Usage: t.GetUsage(), Labels: t.GetLabels(),
	}
}

func (c *TelemetryExportCmd) Run(g *Globals) error {
	if c.Instance != "" && c.Contract == "" {
		return fmt.Errorf("--instance needs --contract")
	}
	cl, err := g.adminClient()
	if err != nil {
		return err
	}
	var w io.Writer = stdout
	if c.Out != "" {
		f, err := os.OpenFile(c.Out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	// An export pages through the whole retention period: give it longer
	// than one admin call.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out := newExportWriter(w, c.Format, c.Counter)
	if err := out.begin(); err != nil {
		return err
	}
	if err := g.cliError(ctx, c.export(ctx, cl, out.write)); err != nil {
		return err
	}
	return out.end()
}

// export sends every selected record to emit, page by page.
func (c *TelemetryExportCmd) export(ctx context.Context, cl licensorv1connect.AdminServiceClient, emit func(exportRecord) error) error {
	if c.Latest {
		token := ""
		for {
			res, err := cl.ListInstances(ctx, connect.NewRequest(&v1.ListInstancesRequest{TenantId: c.TenantID, ContractId: c.Contract, PageSize: 1000, PageToken: token}))
			if err != nil {
				return err
			}
			for _, i := range res.Msg.Instances {
				if i.Telemetry == nil || (c.Instance != "" && i.InstanceId != c.Instance) {
					continue
				}
				if err := emit(exportRecord{At: fmtTS(i.LastSeenAt), ContractID: i.ContractId, InstanceID: i.InstanceId, Telemetry: domainTelemetry(i.Telemetry)}); err != nil {
					return err
				}
			}
			if token = res.Msg.NextPageToken; token == "" {
				return nil
			}
		}
	}
	contracts := []string{c.Contract}
	if c.Contract == "" {
		var err error
		if contracts, err = allContracts(ctx, cl, c.TenantID); err != nil {
			return err
		}
	}
	for _, id := range contracts {
		token := ""
		for {
			res, err := cl.GetTelemetryHistory(ctx, connect.NewRequest(&v1.GetTelemetryHistoryRequest{
				TenantId: c.TenantID, ContractId: id, InstanceId: c.Instance, Since: c.Since.pb(), Until: c.Until.pb(), PageSize: 1000, PageToken: token,
			}))
			if err != nil {
				return err
			}
			for _, p := range res.Msg.Points {
				if err := emit(exportRecord{At: fmtTS(p.At), ContractID: id, InstanceID: p.InstanceId, Telemetry: domainTelemetry(p.Telemetry)}); err != nil {
					return err
				}
			}
			if token = res.Msg.NextPageToken; token == "" {
				break
			}
		}
	}
	return nil
}

func allContracts(ctx context.Context, cl licensorv1connect.AdminServiceClient, tenantID string) ([]string, error) {
	var ids []string
	token := ""
	for {
		res, err := cl.ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{TenantId: tenantID, PageSize: 1000, PageToken: token}))
		if err != nil {
			return nil, err
		}
		for _, c := range res.Msg.Contracts {
			ids = append(ids, c.Id)
		}
		if token = res.Msg.NextPageToken; token == "" {
			return ids, nil
		}
	}
}

// exportWriter streams records as CSV (maps as JSON objects in a cell, and
// chosen counters in columns of their own) or as one JSON array.
type exportWriter struct {
	w        io.Writer
	format   string
	counters []string
	csv      *csv.Writer
	n        int
}

func newExportWriter(w io.Writer, format string, counters []string) *exportWriter {
	return &exportWriter{w: w, format: format, counters: counters}
}

func (e *exportWriter) begin() error {
	if e.format == "json" {
		_, err := io.WriteString(e.w, "[")
		return err
	}
	e.csv = csv.NewWriter(e.w)
	header := []string{"at", "contract_id", "instance_id", "environment", "product_version", "app_name",
		"server_host", "server_ip", "server_port", "runtime_versions", "usage", "labels"}
	for _, c := range e.counters {
		header = append(header, "usage."+c)
	}
	return e.csv.Write(header)
}

func jsonCell[V any](m map[string]V) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (e *exportWriter) write(r exportRecord) error {
	if e.format == "json" {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		sep := ",\n"
		if e.n == 0 {
			sep = "\n"
		}
		e.n++
		_, err = fmt.Fprintf(e.w, "%s%s", sep, b)
		return err
	}
	t := r.Telemetry
	port := ""
	if t.ServerPort != 0 {
		port = strconv.Itoa(t.ServerPort)
	}
	row := []string{r.At, r.ContractID, r.InstanceID, t.Environment, t.ProductVersion, t.AppName,
		t.ServerHost, t.ServerIP, port, jsonCell(t.RuntimeVersions), jsonCell(t.Usage), jsonCell(t.Labels)}
	for _, c := range e.counters {
		v, ok := t.Usage[c]
		cell := ""
		if ok {
			cell = strconv.FormatInt(v, 10)
		}
		row = append(row, cell)
	}
	e.n++
	return e.csv.Write(row)
}

func (e *exportWriter) end() error {
	if e.format == "json" {
		_, err := io.WriteString(e.w, "\n]\n")
		return err
	}
	e.csv.Flush()
	return e.csv.Error()
}

type TelemetrySettingsCmd struct {
	tenantFlag
	Retention   Dur      `help:"Keep telemetry history this long (e.g. 30d; default 90d)."`
	Drop        []string `help:"Telemetry fields never to store (replaces the list; 'none' clears it): product_version, runtime_versions, environment, server_host, server_ip, server_port, app_name, usage, labels." sep:","`
	TruncateIPs *bool    `help:"Keep only /24 of IPv4 and /48 of IPv6 addresses." name:"truncate-ips" negatable:""`
}

func (c *TelemetrySettingsCmd) Run(g *Globals) error {
	req := &v1.UpdateTenantRequest{TenantId: c.TenantID, TruncateIps: c.TruncateIPs}
	if c.Retention != 0 {
		req.TelemetryRetention = durationpb.New(time.Duration(c.Retention))
	}
	if len(c.Drop) > 0 {
		req.SetTelemetryFieldsDropped = true
		if !(len(c.Drop) == 1 && c.Drop[0] == "none") {
			req.TelemetryFieldsDropped = c.Drop
		}
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.UpdateTenant(ctx, connect.NewRequest(req))
		if err != nil {
			return err
		}
		t := res.Msg.Tenant
		return emit(g, res.Msg, []string{"TENANT", "RETENTION", "DROPPED FIELDS", "TRUNCATE IPS"},
			[][]string{{t.Id, fmtDur(t.TelemetryRetention), orDash(strings.Join(t.TelemetryFieldsDropped, ",")), strconv.FormatBool(t.TruncateIps)}})
	})
}
