package client_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/license"
)

// exampleSite writes a static license file signed by a throw-away vendor
// key and returns its path and the vendor's public keys, as a vendor's
// build would pin them.
func exampleSite(now time.Time, cutoff time.Time) (string, license.KeySet) {
	return exampleSiteFor(now, cutoff, "")
}

// exampleSiteFor is exampleSite with the license's environment claim set to
// env (empty: unrestricted).
func exampleSiteFor(now time.Time, cutoff time.Time, env string) (string, license.KeySet) {
	seed := make([]byte, ed25519.SeedSize) // fixed for a reproducible example
	priv := ed25519.NewKeyFromSeed(seed)
	signer, _ := signing.NewSigner("key-2026", priv)
	claims := &licensor.Claims{
		Issuer: "ten_vendor", Subject: "plant-7", ID: "lic_example", IssuedAt: now.Unix(), NotBefore: now.Unix(),
		Expiry: now.AddDate(1, 0, 0).Unix(), Contract: "con_acme", Customer: "cus_acme",
		Features: map[string]any{"solver": 50, "reporting": true}, RefreshAfter: 7200,
		FallbackRule: licensor.FallbackPerpetual, Kind: licensor.LicenseKindFile, Environment: env,
	}
	if !cutoff.IsZero() {
		claims.FallbackCutoff = cutoff.Unix()
	}
	token, _ := signer.SignLicense(claims)
	dir, _ := os.MkdirTemp("", "licensor-example")
	path := filepath.Join(dir, "site.lic")
	_ = os.WriteFile(path, license.Armor(token), 0o600)
	return path, license.KeySet{"key-2026": priv.Public().(ed25519.PublicKey)}
}

// An air-gapped site runs on a static license file, verified offline
// against the vendor's pinned keys.
func Example() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	file, keys := exampleSite(now, time.Time{})
	defer os.RemoveAll(filepath.Dir(file))

	c, err := client.New(client.Config{
		ContractID:  "con_acme",
		InstanceID:  "plant-7",
		Keys:        keys,
		LicenseFile: file,
		Now:         func() time.Time { return now.AddDate(0, 2, 0) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.OnChange(func(l *client.License) { fmt.Println("license", l.Claims.ID, "from", l.Source) })
	if err := c.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	st := c.Status()
	fmt.Println(st.State, "for", int(c.Remaining().Hours()/24), "days")
	fmt.Println("solver:", c.Count("solver"), "reporting:", c.Allowed("reporting"), "gpu-export:", c.Allowed("gpu-export"))
	// Output:
	// license lic_example from file
	// valid for 304 days
	// solver: 50 reporting: true gpu-export: false
}

// After a subscription ends, a perpetual-fallback license keeps every
// release published before the end licensed, and no later one.
func ExampleClient_PermitsVersion() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	end := time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)
	file, keys := exampleSite(now, end)
	defer os.RemoveAll(filepath.Dir(file))
	c, _ := client.New(client.Config{ContractID: "con_acme", InstanceID: "plant-7", Keys: keys, LicenseFile: file,
		Now: func() time.Time { return now }})
	defer c.Close()
	_ = c.Start(context.Background())

	releases := map[string]time.Time{
		"4.1": time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC),
		"4.2": time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC),
	}
	for _, v := range []string{"4.1", "4.2"} {
		fmt.Println(v, c.PermitsVersion(v, releases))
	}
	// Output:
	// 4.1 true
	// 4.2 false
}

// A web application checks on its first request and then every 6 hours;
// a request never waits once a license is held, and the handler decides
// what an unlicensed product does.
func ExampleClient_Middleware() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	file, keys := exampleSite(now, time.Time{})
	defer os.RemoveAll(filepath.Dir(file))
	c, _ := client.New(client.Config{ContractID: "con_acme", InstanceID: "plant-7", Keys: keys, LicenseFile: file,
		Now: func() time.Time { return now }})
	defer c.Close()

	app := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, _ := client.StatusFromContext(r.Context())
		if !st.Licensed() {
			http.Error(w, "unlicensed: "+st.Reason, http.StatusPaymentRequired)
			return
		}
		fmt.Fprintln(w, "hello, licensed until", st.ExpiresAt.UTC().Format(time.DateOnly))
	}))
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Print(rec.Body.String())
	// Output:
	// hello, licensed until 2027-03-01
}

// A license for a non-production environment says so; the product refuses
// production traffic with it (or shows a banner, or watermarks its output)
// instead of running as if fully licensed.
func ExampleClient_Production() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	file, keys := exampleSiteFor(now, time.Time{}, licensor.EnvStaging)
	defer os.RemoveAll(filepath.Dir(file))

	c, err := client.New(client.Config{
		ContractID: "con_acme", InstanceID: "plant-7", Keys: keys, LicenseFile: file,
		Now: func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if err := c.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("environment:", c.License().Environment())
	if !c.Production() {
		fmt.Println("not licensed for production: refusing production traffic")
	}
	// Output:
	// environment: staging
	// not licensed for production: refusing production traffic
}
