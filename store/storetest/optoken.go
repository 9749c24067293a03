package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// testOperatorTokens: operator tokens belong to no tenant. They are listed,
// read and revoked without a scope; from a tenant's scope they do not
// exist, through either set of methods; and the last live one is never
// revoked, not even by revocations racing each other.
func testOperatorTokens(t *testing.T, open opener) {
	bg := context.Background()

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		tenantToks := []*licensor.Token{newToken(t, s, ctx, licensor.RoleAdmin, ""), newToken(t, s, ctx, licensor.RoleContract, c.ID)}
		var all, live []string
		for i := range 5 {
			op := newToken(t, s, bg, licensor.RoleOperator, "")
			all = append(all, op.ID)
			if i%2 == 1 {
				_, err := s.RevokeOperatorToken(bg, op.ID, at(time.Hour))
				must(t, "RevokeOperatorToken", err)
			} else {
				live = append(live, op.ID)
			}
		}
		id := func(x *licensor.Token) string { return x.ID }
		list := func(f licensor.TokenFilter) func(o licensor.ListOptions) ([]*licensor.Token, error) {
			return func(o licensor.ListOptions) ([]*licensor.Token, error) {
				f.ListOptions = o
				return s.ListOperatorTokens(bg, f)
			}
		}
		checkPaging(t, "ListOperatorTokens live", 2, sorted(live), list(licensor.TokenFilter{}), id, id)
		checkPaging(t, "ListOperatorTokens with revoked", 2, sorted(all), list(licensor.TokenFilter{IncludeRevoked: true}), id, id)
		got, err := s.ListOperatorTokens(bg, licensor.TokenFilter{IncludeRevoked: true})
		must(t, "ListOperatorTokens", err)
		for _, tok := range got {
			eq(t, tok.ID+": Role", tok.Role, licensor.RoleOperator)
			eq(t, tok.ID+": TenantID", tok.TenantID, "")
		}

		got, err = s.ListOperatorTokens(ctx, licensor.TokenFilter{IncludeRevoked: true})
		must(t, "ListOperatorTokens in a tenant scope", err)
		eq(t, "ListOperatorTokens in a tenant scope: items", len(got), 0)
		got, err = s.ListTokens(ctx, licensor.TokenFilter{IncludeRevoked: true})
		must(t, "ListTokens of the tenant", err)
		eq(t, "ListTokens of the tenant: items", len(got), len(tenantToks))
		for _, tok := range got {
			if tok.Role == licensor.RoleOperator {
				t.Errorf("ListTokens of the tenant: got operator token %s, want none", tok.ID)
			}
		}
		_, err = s.ListOperatorTokens(bg, licensor.TokenFilter{ListOptions: licensor.ListOptions{Limit: -1}})
		wantCode(t, "ListOperatorTokens with a negative limit", err, licensor.EINVALID)

		// Nor can one be made from inside a tenant's scope.
		secret, hash := licensor.NewTokenSecret(licensor.RoleOperator)
		wantCode(t, "CreateToken of an operator token in a tenant scope", s.CreateToken(ctx, &licensor.Token{Role: licensor.RoleOperator,
			Hash: hash, Hint: licensor.TokenHint(secret)}), licensor.EINVALID)
		got, err = s.ListOperatorTokens(bg, licensor.TokenFilter{IncludeRevoked: true})
		must(t, "ListOperatorTokens", err)
		eq(t, "operator tokens after the refusal", len(got), len(all))
	})

	t.Run("Get", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		op := newToken(t, s, bg, licensor.RoleOperator, "")
		admin := newToken(t, s, ctx, licensor.RoleAdmin, "")
		got, err := s.GetOperatorToken(bg, op.ID)
		must(t, "GetOperatorToken", err)
		eq(t, "ID", got.ID, op.ID)
		eq(t, "TenantID", got.TenantID, "")
		eq(t, "Role", got.Role, licensor.RoleOperator)
		eq(t, "Name", got.Name, op.Name)
		eq(t, "Hint", got.Hint, op.Hint)
		checkTime(t, "CreatedAt", got.CreatedAt, t0)
		checkTime(t, "RevokedAt", got.RevokedAt, time.Time{})
		_, err = s.GetOperatorToken(bg, licensor.NewID(licensor.PrefixToken))
		wantCode(t, "GetOperatorToken unknown", err, licensor.ENOTFOUND)
		_, err = s.GetOperatorToken(bg, admin.ID)
		wantCode(t, "GetOperatorToken of a tenant's token", err, licensor.ENOTFOUND)
		_, err = s.GetOperatorToken(ctx, op.ID)
		wantCode(t, "GetOperatorToken in a tenant scope", err, licensor.ENOTFOUND)
		_, err = s.GetToken(ctx, op.ID)
		wantCode(t, "GetToken of an operator token in a tenant scope", err, licensor.ENOTFOUND)
	})

	t.Run("Revoke", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		a := newToken(t, s, bg, licensor.RoleOperator, "")
		b := newToken(t, s, bg, licensor.RoleOperator, "")
		admin := newToken(t, s, ctx, licensor.RoleAdmin, "")
		stillLive := func(what string, tok *licensor.Token) {
			t.Helper()
			got, err := s.TokenByHash(bg, tok.Hash)
			must(t, what+": TokenByHash", err)
			checkTime(t, what+": RevokedAt", got.RevokedAt, time.Time{})
		}

		_, err := s.RevokeOperatorToken(ctx, a.ID, at(time.Hour))
		wantCode(t, "RevokeOperatorToken in a tenant scope", err, licensor.ENOTFOUND)
		_, err = s.RevokeToken(ctx, a.ID, at(time.Hour))
		wantCode(t, "RevokeToken of an operator token in a tenant scope", err, licensor.ENOTFOUND)
		_, err = s.RevokeOperatorToken(bg, admin.ID, at(time.Hour))
		wantCode(t, "RevokeOperatorToken of a tenant's token", err, licensor.ENOTFOUND)
		stillLive("admin token", admin)
		_, err = s.RevokeOperatorToken(bg, licensor.NewID(licensor.PrefixToken), at(time.Hour))
		wantCode(t, "RevokeOperatorToken unknown", err, licensor.ENOTFOUND)
		stillLive("operator token after revocations from a tenant scope", a)

		got, err := s.RevokeOperatorToken(bg, a.ID, at(time.Hour))
		must(t, "RevokeOperatorToken with another live", err)
		eq(t, "ID", got.ID, a.ID)
		eq(t, "TenantID", got.TenantID, "")
		checkTime(t, "RevokedAt", got.RevokedAt, at(time.Hour))
		got, err = s.RevokeOperatorToken(bg, a.ID, at(2*time.Hour))
		must(t, "RevokeOperatorToken again", err)
		checkTime(t, "RevokedAt after revoking again", got.RevokedAt, at(time.Hour))

		_, err = s.RevokeOperatorToken(bg, b.ID, at(2*time.Hour))
		wantCode(t, "RevokeOperatorToken of the last live one", err, licensor.EPRECONDITION)
		stillLive("last operator token", b)

		// An operator token that has expired by then does not count as
		// another live one; revoking it is no loss.
		expiring := &licensor.Token{ID: licensor.NewID(licensor.PrefixToken), Role: licensor.RoleOperator, Name: "expiring",
			Hash: licensor.HashToken("expiring operator"), Hint: "x", CreatedAt: t0, ExpiresAt: at(3 * time.Hour)}
		must(t, "CreateToken expiring", s.CreateToken(bg, expiring))
		_, err = s.RevokeOperatorToken(bg, b.ID, at(4*time.Hour))
		wantCode(t, "RevokeOperatorToken when the other has expired", err, licensor.EPRECONDITION)
		got, err = s.RevokeOperatorToken(bg, expiring.ID, at(4*time.Hour))
		must(t, "RevokeOperatorToken of an expired one", err)
		checkTime(t, "expired RevokedAt", got.RevokedAt, at(4*time.Hour))
		stillLive("last operator token after the expired one", b)
	})

	t.Run("RevokeRace", func(t *testing.T) {
		// Every operator token revoked at once: all but one succeed, the
		// last is refused, and exactly one stays live.
		const n = 8
		s := open(t)
		toks := make([]*licensor.Token, n)
		for i := range toks {
			toks[i] = newToken(t, s, bg, licensor.RoleOperator, "")
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range toks {
			wg.Go(func() {
				<-start
				_, errs[i] = s.RevokeOperatorToken(bg, toks[i].ID, at(time.Hour))
			})
		}
		close(start)
		wg.Wait()
		refused := 0
		for i, err := range errs {
			switch licensor.ErrorCode(err) {
			case "":
			case licensor.EPRECONDITION:
				refused++
			default:
				t.Errorf("revocation %d: got error %v, want none or %q", i, err, licensor.EPRECONDITION)
			}
		}
		eq(t, "revocations refused", refused, 1)
		live, err := s.ListOperatorTokens(bg, licensor.TokenFilter{})
		must(t, "ListOperatorTokens", err)
		eq(t, fmt.Sprintf("live operator tokens of %d", n), len(live), 1)
	})
}
