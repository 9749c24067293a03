package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// A token authenticates until it expires or is revoked; revocation through
// this server applies at once, even to a token already in the cache.
func TestTokenExpiryAndRevocation(t *testing.T) {
	f := newFixture(t)
	c, _ := f.contract(licensor.Contract{})
	bg := context.Background()
	for _, tc := range []struct {
		name    string
		expires time.Duration // 0: never
		act     func(tok *licensor.Token)
		code    string
		msg     string
	}{
		{"NoExpiryAfterAYear", 0, func(*licensor.Token) { f.clock.Advance(365 * day) }, "", ""},
		{"BeforeExpiry", day, func(*licensor.Token) { f.clock.Advance(day - time.Second) }, "", ""},
		{"AtExpiry", day, func(*licensor.Token) { f.clock.Advance(day) }, licensor.EUNAUTHORIZED, "expired at"},
		{"Revoked", 0, func(tok *licensor.Token) {
			if _, err := f.svc.RevokeToken(f.admin, "", tok.ID); err != nil {
				t.Fatalf("RevokeToken: %v", err)
			}
		}, licensor.EUNAUTHORIZED, "was revoked at"},
		{"RevokedTwiceKeepsFirstTime", 0, func(tok *licensor.Token) {
			first, err := f.svc.RevokeToken(f.admin, "", tok.ID)
			if err != nil {
				t.Fatalf("RevokeToken: %v", err)
			}
			f.clock.Advance(time.Hour)
			again, err := f.svc.RevokeToken(f.admin, "", tok.ID)
			if err != nil || !again.RevokedAt.Equal(first.RevokedAt) {
				t.Errorf("second RevokeToken: got %v, %v; want the first time %s kept", again, err, first.RevokedAt)
			}
		}, licensor.EUNAUTHORIZED, "was revoked at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var exp time.Time
			if tc.expires > 0 {
				exp = f.clock.Now().Add(tc.expires)
			}
			tok, secret, err := f.svc.CreateToken(f.admin, "", licensor.Token{Role: licensor.RoleContract, ContractID: c.ID, Name: tc.name, ExpiresAt: exp})
			if err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
			// Authenticated once, so that the token is in the cache.
			if a, err := f.svc.Authenticate(bg, secret); err != nil || a.TokenID != tok.ID || a.ContractID != c.ID || a.Role != licensor.RoleContract {
				t.Fatalf("Authenticate before: got %+v, %v; want the contract token %s", a, err, tok.ID)
			}
			tc.act(tok)
			_, err = f.svc.Authenticate(bg, secret)
			wantCode(t, "Authenticate after", err, tc.code)
			if tc.msg != "" && !strings.Contains(licensor.ErrorMessage(err), tc.msg) {
				t.Errorf("got message %q, want it to say %q", licensor.ErrorMessage(err), tc.msg)
			}
		})
	}
	t.Run("ExpiryInThePast", func(t *testing.T) {
		_, _, err := f.svc.CreateToken(f.admin, "", licensor.Token{Role: licensor.RoleContract, ContractID: c.ID, ExpiresAt: f.clock.Now().Add(-time.Second)})
		wantCode(t, "CreateToken", err, licensor.EINVALID)
	})
	t.Run("UnknownSecret", func(t *testing.T) {
		_, err := f.svc.Authenticate(bg, "lic_c_nope")
		wantCode(t, "Authenticate", err, licensor.EUNAUTHORIZED)
	})
}

// A rotation keeps the retired key published until every license it may
// have signed has expired: now plus the longest license validity among the
// tenant's contracts. Licenses signed after it use the new key.
func TestKeyRotationKeepsOldKeysPublished(t *testing.T) {
	for _, tc := range []struct {
		name       string
		validities []time.Duration
		publish    time.Duration
	}{
		{"DefaultValidity", []time.Duration{0}, licensor.DefaultLicenseValidity},
		{"LongestOfSeveral", []time.Duration{3 * day, 60 * day, 30 * day}, 60 * day},
		{"ShortOnlyKeepsDefault", []time.Duration{2 * day}, licensor.DefaultLicenseValidity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var last *Issued
			for _, v := range tc.validities {
				c, ctx := f.contract(licensor.Contract{LicenseValidity: v, RefreshInterval: time.Hour})
				l, err := f.license(ctx, c, "node-1", "")
				if err != nil {
					t.Fatalf("GetLicense: %v", err)
				}
				last = l
			}
			old := last.KeyID
			f.clock.Advance(time.Hour)
			rotatedAt := f.clock.Now()
			k, err := f.svc.RotateSigningKey(f.admin, "", rotateNow)
			if err != nil {
				t.Fatalf("RotateSigningKey: %v", err)
			}
			keys, err := f.svc.ListSigningKeys(f.admin, "")
			if err != nil {
				t.Fatal(err)
			}
			var retired *licensor.SigningKey
			for _, x := range keys {
				if x.ID == old {
					retired = x
				}
			}
			if retired == nil || !retired.PublishUntil.Equal(rotatedAt.Add(tc.publish)) || !retired.RetiredAt.Equal(rotatedAt) {
				t.Fatalf("retired key: got %+v, want retired at %s and published until %s", retired, rotatedAt, rotatedAt.Add(tc.publish))
			}
			if time.Unix(last.Claims.Expiry, 0).After(retired.PublishUntil) {
				t.Errorf("a license of the old key expires at %d, after the key stops being published (%s)", last.Claims.Expiry, retired.PublishUntil)
			}
			published := func() (oldKey, newKey bool) {
				t.Helper()
				set, err := f.svc.KeySet(f.tenantCtx())
				if err != nil {
					t.Fatal(err)
				}
				_, oldKey = set[old]
				_, newKey = set[k.ID]
				return
			}
			if o, n := published(); !o || !n {
				t.Errorf("just after the rotation: got old %v, new %v published; want both", o, n)
			}
			f.clock.Advance(tc.publish - time.Hour) // past the key cache's TTL
			if o, n := published(); !o || !n {
				t.Errorf("an hour before the old key's licenses end: got old %v, new %v published; want both", o, n)
			}
			f.clock.Advance(time.Hour)
			if o, n := published(); o || !n {
				t.Errorf("once the old key's licenses have ended: got old %v, new %v published; want only the new", o, n)
			}
			c, ctx := f.contract(licensor.Contract{})
			l, err := f.license(ctx, c, "node-2", "")
			if err != nil || l.KeyID != k.ID {
				t.Errorf("a license after the rotation: got key %v (%v), want %s", l, err, k.ID)
			}
		})
	}
}
