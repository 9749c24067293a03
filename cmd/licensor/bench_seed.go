package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/atomicfile"
	"github.com/licensor/licensor/internal/datadir"
	"github.com/licensor/licensor/internal/keycheck"
	"github.com/licensor/licensor/service"
	"github.com/licensor/licensor/store/sqlite"
)

// BenchSeedCmd fills an embedded database with instances, directly through
// the store (not the API), so that the large-store figures can be measured
// without a day of refreshes first.
type BenchSeedCmd struct {
	Data      string `help:"Data directory of a server started once with serve --demo (stop it first)." default:"./licensor-data" type:"path"`
	Instances int    `default:"1000000" help:"How many instances to store."`
	Workers   int    `default:"64" help:"Concurrent check-ins (the store batches them)."`
	Out       string `help:"Where to write contract_id and token of the seeded contract (default <data>/bench-contract.json)." type:"path"`
	Progress  string `help:"Live progress line on stderr (count, rate, time left): auto (when stderr is a terminal), always or never." enum:"auto,always,never" default:"auto"`
}

// progressOut is where progress lines go; tests replace it.
var progressOut io.Writer = os.Stderr

// showProgress decides --progress auto: only a terminal wants a line
// rewritten in place; a log file would fill with them.
func showProgress(mode string) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// seedProgress writes "n of total instances stored, rate/s, time left"
// every second until stop is called, and a final line then.
func seedProgress(w io.Writer, total int64, done *atomic.Int64, started time.Time) (stop func()) {
	line := func() {
		n := done.Load()
		el := time.Since(started)
		rate := float64(n) / el.Seconds()
		left := "-"
		if rate > 0 && n < total {
			left = formatDur(time.Duration(float64(total-n) / rate * float64(time.Second)).Round(time.Second))
		} else if n >= total {
			left = "0s"
		}
		fmt.Fprintf(w, "\r%d of %d instances stored, %.0f/s, %s left ", n, total, rate, left)
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				line()
				fmt.Fprintln(w)
				return
			case <-t.C:
				line()
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// Run creates a contract without a seat limit under the demo tenant, a
// token for it, and Instances instances checked in on it.
func (c *BenchSeedCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	demo, err := readDemoFile(filepath.Join(c.Data, "demo.json"))
	if err != nil {
		return fmt.Errorf("seed needs a data directory made by serve --demo: %w", err)
	}
	if c.Instances < 0 || c.Workers < 1 {
		return errors.New("--instances must be >= 0 and --workers >= 1")
	}
	lock, err := datadir.Acquire(c.Data) // the server must not run beside the seeding
	if err != nil {
		return err
	}
	defer lock.Release()
	st, err := sqlite.Open(ctx, filepath.Join(c.Data, "licensor.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	sealer, err := keycheck.Sealer(ctx, st, c.Data)
	if err != nil {
		return err
	}
	svc := service.New(service.Config{Store: st, Sealer: sealer})
	op := licensor.WithActor(ctx, licensor.Actor{Role: licensor.RoleOperator, TokenID: "bench-seed"})
	cu, err := svc.CreateCustomer(op, demo.TenantID, licensor.Customer{Name: "Seeded fleet"})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	ct, err := svc.CreateContract(op, demo.TenantID, licensor.Contract{
		CustomerID: cu.ID, ProductID: demo.ProductID, Name: "seeded", StartsAt: now, EndsAt: now.AddDate(1, 0, 0),
		Features: []licensor.Entitlement{{Feature: "solver", Count: 50}, {Feature: "reporting"}},
	})
	if err != nil {
		return err
	}
	_, token, err := svc.CreateToken(op, demo.TenantID, licensor.Token{Role: licensor.RoleContract, ContractID: ct.ID, Name: "seeded fleet"})
	if err != nil {
		return err
	}
	tctx := licensor.WithTenant(ctx, demo.TenantID)
	started := time.Now()
	var next, done atomic.Int64
	var firstErr error
	var once sync.Once
	stopProgress := func() {}
	if showProgress(c.Progress) {
		stopProgress = seedProgress(progressOut, int64(c.Instances), &done, started)
	}
	var wg sync.WaitGroup
	for range c.Workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(c.Instances) || ctx.Err() != nil {
					return
				}
				_, err := st.Checkin(tctx, licensor.Checkin{
					ContractID: ct.ID, InstanceID: "seed-" + strconv.FormatInt(i, 10), TakesSeat: true,
					Environment: "production", Host: "host-" + strconv.FormatInt(i, 10), RemoteAddr: "192.0.2.1:4000",
					Now: now, LicenseID: licensor.NewID(licensor.PrefixLicense), LicenseExpiresAt: now.Add(ct.LicenseValidity),
					CloneWindow: ct.RefreshInterval,
				})
				if err != nil {
					once.Do(func() { firstErr = err; stop() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	stopProgress()
	if firstErr != nil {
		return fmt.Errorf("after %d instances: %w", done.Load(), firstErr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	out := c.Out
	if out == "" {
		out = filepath.Join(c.Data, "bench-contract.json")
	}
	b, _ := json.MarshalIndent(map[string]string{"contract_id": ct.ID, "token": token, "tenant_id": demo.TenantID}, "", "  ")
	if err := atomicfile.Write(out, append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d instances stored on contract %s in %s; contract and token written to %s\n",
		done.Load(), ct.ID, time.Since(started).Round(time.Millisecond), out)
	return nil
}
