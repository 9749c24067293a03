package client

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/testlog"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

var b64 = base64.RawURLEncoding

// reforge returns token with its header replaced and signed by sign (nil:
// an empty signature).
func reforge(token string, header map[string]any, sign func(input []byte) []byte) string {
	parts := strings.Split(token, ".")
	h, _ := json.Marshal(header)
	input := b64.EncodeToString(h) + "." + parts[1]
	sig := ""
	if sign != nil {
		sig = b64.EncodeToString(sign([]byte(input)))
	}
	return input + "." + sig
}

// TestRejected: every license the client must refuse, given as a static
// license file or a cache, leaves the product unlicensed with a reason.
func TestRejected(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{})
	good := e.serverLicense(t, e.f.ContractID, e.f.ContractToken, "node-1")
	var kid string
	for k := range e.keys {
		kid = k
	}
	now := e.clock.Now()

	// Another contract of the same tenant, signed by the same key.
	adm := e.srv.Admin(testserver.GRPC, e.f.AdminToken)
	cc, err := adm.CreateContract(context.Background(), connect.NewRequest(&v1.CreateContractRequest{
		CustomerId: e.f.CustomerID, ProductId: e.f.ProductID, Name: "second",
		Features: []*v1.Entitlement{{Feature: "reporting"}}}))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := adm.CreateToken(context.Background(), connect.NewRequest(&v1.CreateTokenRequest{Role: "contract", ContractId: cc.Msg.Contract.Id, Name: "x"}))
	if err != nil {
		t.Fatal(err)
	}
	otherContract := e.serverLicense(t, cc.Msg.Contract.Id, tk.Msg.Secret, "node-1")

	other := testKeys(t)
	claims := testClaims(now)
	claims.Issuer, claims.Contract = e.f.TenantID, e.f.ContractID
	otherSameKid, _ := signing.NewSigner(kid, other.priv)
	forgedSameKid, _ := otherSameKid.SignLicense(claims)

	parts := strings.Split(good, ".")
	payload, _ := b64.DecodeString(parts[1])
	tampered := parts[0] + "." + b64.EncodeToString([]byte(strings.Replace(string(payload), `"solver":50`, `"solver":5000`, 1))) + "." + parts[2]
	hs256 := reforge(good, map[string]any{"alg": "HS256", "kid": kid, "typ": "license+jwt"}, func(in []byte) []byte {
		m := hmac.New(sha256.New, e.keys[kid])
		m.Write(in)
		return m.Sum(nil)
	})
	armored := string(license.Armor(good))

	cases := []struct {
		name, file, want string
	}{
		{"OtherKeySameKid", forgedSameKid, "signature does not verify"},
		{"OtherKeyUnknownKid", other.sign(t, claims), "unknown signing key"},
		{"AlgNone", reforge(good, map[string]any{"alg": "none", "kid": kid, "typ": "license+jwt"}, nil), `alg "none"`},
		{"AlgHS256", hs256, `alg "HS256"`},
		{"OtherInstance", e.serverLicense(t, e.f.ContractID, e.f.ContractToken, "node-2"), "not this instance"},
		{"OtherContract", otherContract, "for contract"},
		{"TamperedPayload", tampered, "signature does not verify"},
		{"TruncatedFile", armored[:len(armored)/2], "truncated"},
		{"TruncatedToken", good[:len(good)-20], "signature is malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tempFile(t, "site.lic")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c := newClient(t, Config{ContractID: e.f.ContractID, InstanceID: "node-1", Keys: e.keys, LicenseFile: path, Now: e.clock.Now})
			err := c.Start(context.Background())
			st := c.Status()
			if err == nil || st.Licensed() || c.License() != nil || c.Allowed("solver") {
				t.Fatalf("got %v licensed=%v license=%v, want refused", err, st.Licensed(), c.License() != nil)
			}
			if !strings.Contains(st.Reason, tc.want) {
				t.Errorf("reason: got %q, want it to contain %q", st.Reason, tc.want)
			}
		})
	}

	t.Run("GoodFileAccepted", func(t *testing.T) {
		path := tempFile(t, "site.lic")
		if err := os.WriteFile(path, []byte(armored), 0o600); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, Config{ContractID: e.f.ContractID, InstanceID: "node-1", Keys: e.keys, LicenseFile: path, Now: e.clock.Now})
		if err := c.Start(context.Background()); err != nil || c.Status().Source != SourceFile {
			t.Fatalf("got %v from %q, want licensed from the file", err, c.Status().Source)
		}
	})

	for _, tc := range []struct{ name, cache, log string }{
		{"CorruptCache", `{"version":1,"token":"eyJ`, "license cache is corrupt"},
		{"GarbageCache", "\x00\x01garbage", "license cache is corrupt"},
		{"TamperedCache", `{"version":1,"token":"` + tampered + `"}`, "cached license does not verify"},
		{"OtherInstanceCache", `{"version":1,"token":"` + e.serverLicense(t, e.f.ContractID, e.f.ContractToken, "node-3") + `"}`, "cached license does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := e.config(t, "node-1", dir)
			cfg.Server, cfg.Token = "", ""
			logs := &testlog.Buffer{}
			cfg.Logger = slogTo(logs)
			probe := newClient(t, cfg)
			if err := os.WriteFile(probe.cachePath(), []byte(tc.cache), 0o600); err != nil {
				t.Fatal(err)
			}
			c := newClient(t, cfg)
			_ = c.Start(context.Background())
			if st := c.Status(); st.Licensed() || c.License() != nil {
				t.Fatalf("got %v, want unlicensed", st.State)
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log: got %q, want a warning %q", logs.String(), tc.log)
			}
		})
	}

	t.Run("TamperedFromServer", func(t *testing.T) {
		url, pool := fakeServer(t, fakeLicenseHandler(func(context.Context, *v1.GetLicenseRequest) (*v1.GetLicenseResponse, error) {
			return &v1.GetLicenseResponse{License: &v1.IssuedLicense{Token: tampered}}, nil
		}))
		cfg := e.config(t, "node-1", t.TempDir())
		cfg.Server, cfg.RootCAs = url, pool
		c := newClient(t, cfg)
		err := c.Start(context.Background())
		if StageOf(err) != StageVerify || licensor.ErrorCode(err) != licensor.EINVALID || c.License() != nil {
			t.Fatalf("got %v (stage %q), want a verify failure and no license", err, StageOf(err))
		}
	})
}

// TestClockRollback: a clock wound back below the newest server time seen
// (persisted in the cache) does not revive an expired license file.
func TestClockRollback(t *testing.T) {
	k := testKeys(t)
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	cl := testClaims(t0)
	cl.Kind = licensor.LicenseKindFile
	path := tempFile(t, "site.lic")
	if err := os.WriteFile(path, license.Armor(k.sign(t, cl)), 0o600); err != nil {
		t.Fatal(err)
	}
	wound := func() time.Time { return t0.Add(5 * day) } // the license's exp is t0+14d
	dir := t.TempDir()
	cfg := Config{ContractID: "con_1", InstanceID: "node-1", Keys: k.set, LicenseFile: path, CacheDir: dir, Now: wound}

	if c := newClient(t, cfg); c.Status().State != Unlicensed || c.Start(context.Background()) != nil {
		t.Fatal("the file should be valid at t0+5d with no server time seen")
	}
	probe := newClient(t, cfg)
	snap, _ := json.Marshal(cacheSnapshot{Version: cacheVersion, ServerTime: t0.Add(20 * day)})
	if err := os.WriteFile(probe.cachePath(), snap, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	cfg.Logger = slogTo(logs)
	c := newClient(t, cfg)
	_ = c.Start(context.Background())
	if st := c.Status(); st.State != Expired {
		t.Fatalf("got %v (%s), want expired: the clock must not go below the server time seen", st.State, st.Reason)
	}
	if !strings.Contains(logs.String(), "earlier than the newest server time") {
		t.Errorf("no rollback warning in the log: %s", logs.String())
	}
}
