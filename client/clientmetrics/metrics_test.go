package clientmetrics_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/client/clientmetrics"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/license"
)

// TestCollector: the gauge shows the seconds left on the license held and
// the state, read at scrape time.
func TestCollector(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := signing.NewSigner("k1", priv)
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	token, err := signer.SignLicense(&licensor.Claims{Issuer: "ten_1", Subject: "node-1", ID: "lic_1", IssuedAt: now.Unix(),
		NotBefore: now.Unix(), Expiry: now.Add(10 * 24 * time.Hour).Unix(), Contract: "con_1", Kind: licensor.LicenseKindFile})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "site.lic")
	if err := os.WriteFile(path, license.Armor(token), 0o600); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(now.Add(4 * 24 * time.Hour).UnixNano())
	c, err := client.New(client.Config{ContractID: "con_1", InstanceID: "node-1", Keys: license.KeySet{"k1": pub}, LicenseFile: path,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(clientmetrics.New(c)); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"licensor_client_license_remaining_seconds,contract=con_1":         6 * 24 * 3600,
		"licensor_client_licensed,contract=con_1":                          1,
		"licensor_client_license_state,contract=con_1,state=expiring_soon": 1,
		"licensor_client_license_state,contract=con_1,state=valid":         0,
		"licensor_client_license_state,contract=con_1,state=expired":       0,
		"licensor_client_license_state,contract=con_1,state=unlicensed":    0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
	clock.Store(now.Add(11 * 24 * time.Hour).UnixNano())
	mfs, _ = reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "licensor_client_license_remaining_seconds" && mf.GetMetric()[0].GetGauge().GetValue() != 0 {
			t.Errorf("remaining after expiry: got %v, want 0", mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
}
