package signing

import (
	"encoding/json"
	"testing"

	"github.com/licensor/licensor"
)

// TestAppendClaimsMatchesEncodingJSON: the hand-written encoder writes what
// encoding/json writes, so that tokens stay reproducible and any JSON
// tooling reads the same claims.
func TestAppendClaimsMatchesEncodingJSON(t *testing.T) {
	seat := true
	base := func() *licensor.Claims {
		return &licensor.Claims{
			Issuer: "ten_1", Subject: "inst-a", ID: "lic_1", IssuedAt: 1_700_000_000, NotBefore: 1_700_000_000,
			Expiry: 1_701_209_600, Contract: "con_1", Customer: "cus_1", Product: "prd_1",
			Features:     map[string]any{"solver": int64(8), "gpu": true, "export": false, "seats": 3},
			RefreshAfter: 7200, FallbackRule: licensor.FallbackPerpetual, Kind: licensor.LicenseKindLive, ContractVersion: 4,
			Environment: licensor.EnvProduction, Seat: &seat,
		}
	}
	tests := []struct {
		name   string
		change func(c *licensor.Claims)
	}{
		{"full", func(*licensor.Claims) {}},
		{"omitempty fields left out", func(c *licensor.Claims) {
			c.Product, c.ContractVersion, c.FallbackCutoff, c.Environment, c.Seat = "", 0, 0, "", nil
		}},
		{"no seat", func(c *licensor.Claims) { c.Environment, c.Seat = licensor.EnvStaging, new(bool) }},
		{"environment without seat", func(c *licensor.Claims) { c.Environment, c.Seat = licensor.EnvTest, nil }},
		{"seat without environment", func(c *licensor.Claims) { c.Environment = "" }},
		{"fallback cutoff", func(c *licensor.Claims) { c.FallbackCutoff = 1_690_000_000 }},
		{"nil features", func(c *licensor.Claims) { c.Features = nil }},
		{"empty features", func(c *licensor.Claims) { c.Features = map[string]any{} }},
		{"many features, sorted", func(c *licensor.Claims) {
			for _, k := range []string{"z", "a", "m", "b1", "b0", "B", "_", "a.b", "a-b", "x", "y", "q", "r", "s", "t", "u", "v", "w"} {
				c.Features[k] = int64(len(k))
			}
		}},
		{"float and json.Number values", func(c *licensor.Claims) {
			c.Features["f"] = 2.0
			c.Features["g"] = 2.5
			c.Features["n"] = json.Number("12")
		}},
		{"negative and large numbers", func(c *licensor.Claims) {
			c.IssuedAt, c.Expiry = -1, 1<<62
			c.Features["big"] = int64(-1 << 63)
		}},
		{"strings that need escaping", func(c *licensor.Claims) {
			c.Issuer = `quote" back\slash`
			c.Subject = "<script>&amp;</script>"
			c.Customer = "ctl\x00\x1f\ttab\nnl"
			c.Product = "ünïcödé 日本 \u2028\u2029"
			c.Environment = "<prod>\u2028"
			c.Features["bad\xffutf8"] = true
		}},
		{"bound to a key and a machine", func(c *licensor.Claims) {
			c.Kind, c.Seat = licensor.LicenseKindFile, nil
			c.Confirmation = &licensor.Confirmation{JKT: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"}
			c.Fingerprint = "x\"<fp>"
		}},
		{"empty strings", func(c *licensor.Claims) { c.Issuer, c.Subject, c.Kind, c.FallbackRule = "", "", "", "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.change(c)
			want, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendClaims(nil, c)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("appendClaims:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestAppendClaimsUnencodable: a feature value encoding/json refuses is
// refused, not written half.
func TestAppendClaimsUnencodable(t *testing.T) {
	c := &licensor.Claims{Features: map[string]any{"ch": make(chan int)}}
	if _, err := appendClaims(nil, c); err == nil {
		t.Fatal("appendClaims accepted a channel as a feature value")
	}
}

func FuzzAppendClaims(f *testing.F) {
	f.Add("ten_1", "inst", "feat", "staging", int64(3), true)
	f.Add("a\"<>&\u2028", "\xff", "", "", int64(-9), false)
	f.Fuzz(func(t *testing.T, iss, sub, feature, env string, n int64, flag bool) {
		c := &licensor.Claims{Issuer: iss, Subject: sub, Product: sub, Features: map[string]any{feature: n, feature + "b": flag}, FallbackCutoff: n, Environment: env}
		if n%2 == 0 {
			c.Seat = &flag
		}
		want, err := json.Marshal(c)
		if err != nil {
			t.Skip()
		}
		got, err := appendClaims(nil, c)
		if err != nil || string(got) != string(want) {
			t.Fatalf("appendClaims = %s, %v; encoding/json = %s", got, err, want)
		}
	})
}

func BenchmarkAppendClaims(b *testing.B) {
	c := &licensor.Claims{
		Issuer: "ten_01HZY3", Subject: "instance-0001", ID: "lic_01HZY3ABCDEF", IssuedAt: 1_700_000_000, NotBefore: 1_700_000_000,
		Expiry: 1_701_209_600, Contract: "con_01HZY3", Customer: "cus_01HZY3", Product: "prd_01HZY3",
		Features:     map[string]any{"solver": int64(8), "gpu": true, "export": true},
		RefreshAfter: 7200, FallbackRule: licensor.FallbackNone, Kind: licensor.LicenseKindLive, ContractVersion: 4,
	}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 768)
		for b.Loop() {
			buf, _ = appendClaims(buf[:0], c)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(c)
		}
	})
}
