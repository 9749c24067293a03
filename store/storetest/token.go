package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func testTokens(t *testing.T, open opener) {
	bg := context.Background()

	t.Run("CreateByHash", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		admin := newToken(t, s, ctx, licensor.RoleAdmin, "")
		con := newToken(t, s, ctx, licensor.RoleContract, c.ID)
		op := newToken(t, s, bg, licensor.RoleOperator, "")
		withExpiry := &licensor.Token{
			ID: licensor.NewID(licensor.PrefixToken), Role: licensor.RoleAdmin, Name: "expiring",
			Hash: licensor.HashToken("expiring"), Hint: "expir", CreatedAt: t0, ExpiresAt: at(24 * time.Hour),
		}
		must(t, "CreateToken with expiry", s.CreateToken(ctx, withExpiry))
		for _, tc := range []struct {
			name   string
			want   *licensor.Token
			tenant string
		}{
			{"Admin", admin, ten.ID},
			{"Contract", con, ten.ID},
			{"Operator", op, ""},
			{"Expiring", withExpiry, ten.ID},
		} {
			// No scope: authentication happens before there is one.
			got, err := s.TokenByHash(bg, tc.want.Hash)
			must(t, tc.name+": TokenByHash", err)
			eq(t, tc.name+": ID", got.ID, tc.want.ID)
			eq(t, tc.name+": TenantID", got.TenantID, tc.tenant)
			eq(t, tc.name+": Role", got.Role, tc.want.Role)
			eq(t, tc.name+": ContractID", got.ContractID, tc.want.ContractID)
			eq(t, tc.name+": Name", got.Name, tc.want.Name)
			eq(t, tc.name+": Hint", got.Hint, tc.want.Hint)
			if !bytes.Equal(got.Hash, tc.want.Hash) {
				t.Errorf("%s: Hash: got %x, want %x", tc.name, got.Hash, tc.want.Hash)
			}
			checkTime(t, tc.name+": CreatedAt", got.CreatedAt, t0)
			if tc.name == "Expiring" {
				checkTime(t, tc.name+": ExpiresAt", got.ExpiresAt, at(24*time.Hour))
			} else {
				checkTime(t, tc.name+": ExpiresAt", got.ExpiresAt, time.Time{})
			}
			checkTime(t, tc.name+": RevokedAt", got.RevokedAt, time.Time{})
		}
		_, err := s.TokenByHash(bg, licensor.HashToken("no such secret"))
		wantCode(t, "TokenByHash of an unknown secret", err, licensor.ENOTFOUND)
	})

	t.Run("DuplicateHash", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		ctxB, _ := scope(t, s, "Other")
		tok := newToken(t, s, ctx, licensor.RoleAdmin, "")
		for _, c := range []struct {
			name string
			ctx  context.Context
			role licensor.Role
		}{{"SameTenant", ctx, licensor.RoleAdmin}, {"OtherTenant", ctxB, licensor.RoleAdmin}, {"Operator", bg, licensor.RoleOperator}} {
			dup := &licensor.Token{ID: licensor.NewID(licensor.PrefixToken), Role: c.role, Name: "dup", Hash: tok.Hash, Hint: "x"}
			wantCode(t, c.name+": CreateToken with a taken hash", s.CreateToken(c.ctx, dup), licensor.ECONFLICT)
		}
		got, err := s.TokenByHash(bg, tok.Hash)
		must(t, "TokenByHash", err)
		eq(t, "ID", got.ID, tok.ID)
	})

	t.Run("UnknownContract", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		tok := &licensor.Token{ID: licensor.NewID(licensor.PrefixToken), Role: licensor.RoleContract,
			ContractID: licensor.NewID(licensor.PrefixContract), Name: "x", Hash: licensor.HashToken("x"), Hint: "x"}
		wantCode(t, "CreateToken", s.CreateToken(ctx, tok), licensor.ENOTFOUND)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		ctxB, _ := scope(t, s, "Other")
		c := newContract(t, s, ctx, 0, nil)
		newToken(t, s, bg, licensor.RoleOperator, "")
		newToken(t, s, ctxB, licensor.RoleAdmin, "")
		var all, live, ofContract []string
		for i := range 6 {
			contract := ""
			if i%2 == 0 {
				contract = c.ID
			}
			role := licensor.RoleAdmin
			if contract != "" {
				role = licensor.RoleContract
			}
			tok := newToken(t, s, ctx, role, contract)
			all = append(all, tok.ID)
			if i%3 == 0 {
				_, err := s.RevokeToken(ctx, tok.ID, at(time.Hour))
				must(t, "RevokeToken", err)
			} else {
				live = append(live, tok.ID)
				if contract != "" {
					ofContract = append(ofContract, tok.ID)
				}
			}
		}
		id := func(x *licensor.Token) string { return x.ID }
		list := func(f licensor.TokenFilter) func(o licensor.ListOptions) ([]*licensor.Token, error) {
			return func(o licensor.ListOptions) ([]*licensor.Token, error) {
				f.ListOptions = o
				return s.ListTokens(ctx, f)
			}
		}
		checkPaging(t, "ListTokens live", 2, sorted(live), list(licensor.TokenFilter{}), id, id)
		checkPaging(t, "ListTokens with revoked", 4, sorted(all), list(licensor.TokenFilter{IncludeRevoked: true}), id, id)
		checkPaging(t, "ListTokens of a contract", 1, sorted(ofContract), list(licensor.TokenFilter{ContractID: c.ID}), id, id)
	})

	t.Run("Get", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		tok := newToken(t, s, ctx, licensor.RoleContract, c.ID)
		op := newToken(t, s, bg, licensor.RoleOperator, "")
		got, err := s.GetToken(ctx, tok.ID)
		must(t, "GetToken", err)
		eq(t, "ID", got.ID, tok.ID)
		eq(t, "TenantID", got.TenantID, ten.ID)
		eq(t, "Role", got.Role, licensor.RoleContract)
		eq(t, "ContractID", got.ContractID, c.ID)
		eq(t, "Name", got.Name, tok.Name)
		eq(t, "Hint", got.Hint, tok.Hint)
		checkTime(t, "CreatedAt", got.CreatedAt, t0)
		checkTime(t, "RevokedAt", got.RevokedAt, time.Time{})
		_, err = s.RevokeToken(ctx, tok.ID, at(time.Hour))
		must(t, "RevokeToken", err)
		got, err = s.GetToken(ctx, tok.ID)
		must(t, "GetToken after revoking", err)
		checkTime(t, "RevokedAt after revoking", got.RevokedAt, at(time.Hour))
		_, err = s.GetToken(ctx, licensor.NewID(licensor.PrefixToken))
		wantCode(t, "GetToken unknown", err, licensor.ENOTFOUND)
		_, err = s.GetToken(ctx, op.ID)
		wantCode(t, "GetToken of the operator token in a tenant scope", err, licensor.ENOTFOUND)
	})

	t.Run("RevokeKeepsFirst", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		tok := newToken(t, s, ctx, licensor.RoleAdmin, "")
		got, err := s.RevokeToken(ctx, tok.ID, at(time.Hour))
		must(t, "RevokeToken", err)
		eq(t, "ID", got.ID, tok.ID)
		eq(t, "TenantID", got.TenantID, ten.ID)
		checkTime(t, "RevokedAt", got.RevokedAt, at(time.Hour))
		got, err = s.RevokeToken(ctx, tok.ID, at(2*time.Hour))
		must(t, "RevokeToken again", err)
		checkTime(t, "RevokedAt after revoking again", got.RevokedAt, at(time.Hour))
		stored, err := s.TokenByHash(bg, tok.Hash)
		must(t, "TokenByHash", err)
		checkTime(t, "stored RevokedAt", stored.RevokedAt, at(time.Hour))
		if stored.Live(at(30 * time.Minute).Add(time.Hour)) {
			t.Errorf("Live after revocation: got true, want false")
		}
	})

	t.Run("RevokeUnknown", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		_, err := s.RevokeToken(ctx, licensor.NewID(licensor.PrefixToken), t0)
		wantCode(t, "RevokeToken", err, licensor.ENOTFOUND)
	})

	t.Run("HasOperatorToken", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		has := func(want bool, when string) {
			t.Helper()
			got, err := s.HasOperatorToken(bg)
			must(t, "HasOperatorToken "+when, err)
			eq(t, "HasOperatorToken "+when, got, want)
		}
		has(false, "on an empty store")
		newToken(t, s, ctx, licensor.RoleAdmin, "")
		has(false, "with an admin token only")
		now := time.Now()
		must(t, "CreateToken expired", s.CreateToken(bg, &licensor.Token{
			ID: licensor.NewID(licensor.PrefixToken), Role: licensor.RoleOperator, Name: "expired",
			Hash: licensor.HashToken("expired"), Hint: "x", CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-time.Hour),
		}))
		has(false, "with an expired operator token")
		must(t, "CreateToken revoked", s.CreateToken(bg, &licensor.Token{
			ID: licensor.NewID(licensor.PrefixToken), Role: licensor.RoleOperator, Name: "revoked",
			Hash: licensor.HashToken("revoked"), Hint: "x", CreatedAt: now.Add(-48 * time.Hour), RevokedAt: now.Add(-time.Hour),
		}))
		has(false, "with a revoked operator token")
		must(t, "CreateToken live", s.CreateToken(bg, &licensor.Token{
			ID: licensor.NewID(licensor.PrefixToken), Role: licensor.RoleOperator, Name: "live",
			Hash: licensor.HashToken("live"), Hint: "x", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
		}))
		has(true, "with a live operator token")
	})
}
