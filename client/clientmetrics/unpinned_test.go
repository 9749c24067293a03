package clientmetrics_test

import (
	"context"
	"io"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/client/clientmetrics"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// TestUnpinnedKeysGauge: after a staged rotation the gauge counts the
// published key the client does not pin, so an alert can fire before the
// key signs.
func TestUnpinnedKeysGauge(t *testing.T) {
	ctx := context.Background()
	srv := testserver.Start(t)
	f := srv.NewFixture(t, testserver.FixtureOptions{})
	res, err := srv.HTTPClient().Get(srv.URL + licensor.JWKSPath + "?tenant=" + f.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	keys, err := license.ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Server: srv.URL, ContractID: f.ContractID, Token: f.ContractToken, InstanceID: "node-1",
		Keys: keys, TenantID: f.TenantID, RootCAs: srv.CAPool, Now: srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	unpinned := make(chan []string, 4)
	c.OnUnpinnedKeys(func(kids []string) { unpinned <- kids })
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(clientmetrics.New(c)); err != nil {
		t.Fatal(err)
	}
	gauge := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "licensor_client_unpinned_keys" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("licensor_client_unpinned_keys is not exported")
		return 0
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if g := gauge(); g != 0 {
		t.Fatalf("before a rotation: got %v, want 0", g)
	}
	if _, err := srv.Admin(testserver.GRPC, f.AdminToken).RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{})); err != nil {
		t.Fatal(err)
	}
	srv.Clock.Advance(client.PinCheckInterval)
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-unpinned:
	case <-time.After(10 * time.Second):
		t.Fatal("no OnUnpinnedKeys within 10s")
	}
	if g := gauge(); g != 1 {
		t.Errorf("after a staged rotation: got %v, want 1", g)
	}
}
