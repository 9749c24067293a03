// Command cluster-service is a service on a customer's cluster that holds a
// Licensor license: it starts at once from its cache, refreshes every two
// hours, keeps running through a server outage for the license's 14 days,
// and logs every change of state.
//
//	go run ./cmd/licensor serve --demo            # in one terminal
//	go run ./examples/cluster-service              # in another
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/licensor/licensor/client"
)

// demo is the part of <data>/demo.json (written by serve --demo) used here.
type demo struct {
	Server     string `json:"server"`
	CACert     string `json:"ca_cert"`
	TenantID   string `json:"tenant_id"`
	ContractID string `json:"contract_id"`
	Token      string `json:"token"`
}

func main() {
	demoFile := flag.String("demo", "licensor-data/demo.json", "demo.json written by licensor serve --demo")
	instance := flag.String("instance", "", "instance id (default: generated once and kept in -cache)")
	cache := flag.String("cache", "cluster-service-cache", "cache directory")
	every := flag.Duration("status-every", 10*time.Minute, "how often to log the status")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*demoFile, *instance, *cache, *every, log); err != nil {
		fmt.Fprintln(os.Stderr, "cluster-service:", err)
		os.Exit(1)
	}
}

func run(demoFile, instance, cache string, every time.Duration, log *slog.Logger) error {
	b, err := os.ReadFile(demoFile)
	if err != nil {
		return fmt.Errorf("%w (start the server with: go run ./cmd/licensor serve --demo)", err)
	}
	var d demo
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("%s: %w", demoFile, err)
	}
	c, err := client.New(client.Config{
		Server:     d.Server,
		ContractID: d.ContractID,
		Token:      d.Token,
		InstanceID: instance,
		// A product pins its vendor's keys at build time (Config.Keys); the
		// demo fetches the tenant's JWKS and caches it instead.
		TenantID:        d.TenantID,
		CAFile:          d.CACert,
		CacheDir:        cache,
		RefreshInterval: 2 * time.Hour,
		Watch:           true,
		Telemetry: func() client.Telemetry {
			return client.Telemetry{ProductVersion: "1.0.0", Environment: "production", AppName: "cluster-service"}
		},
		Logger: log,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	c.OnChange(func(l *client.License) {
		log.Info("license", "id", l.Claims.ID, "source", l.Source, "features", l.Claims.Features, "expires_at", l.Claims.ExpiresAt())
	})
	c.OnExpiringSoon(func(left time.Duration) { log.Warn("license expiring soon", "left", left.Round(time.Minute)) })
	c.OnExpired(func() { log.Error("license expired: running in restricted mode") })
	c.OnError(func(err error) {
		log.Warn("license check failing; still running on the license held", "stage", client.StageOf(err), "err", err)
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.Start(ctx); err != nil {
		log.Warn("starting unlicensed; retrying in the background", "err", err)
	}
	logStatus(c, log)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			logStatus(c, log)
		}
	}
}

func logStatus(c *client.Client, log *slog.Logger) {
	st := c.Status()
	log.Info("status", "state", st.State, "remaining", st.Remaining.Round(time.Minute), "source", st.Source,
		"solver", c.Count("solver"), "reporting", c.Allowed("reporting"), "next_check", st.NextAttempt.Format(time.RFC3339), "reason", st.Reason)
}
