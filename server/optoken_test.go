package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/testserver"
)

// operatorTokens lists the operator tokens as op sees them, by id.
func operatorTokens(t *testing.T, op licensorv1connect.AdminServiceClient, includeRevoked bool) map[string]*v1.Token {
	t.Helper()
	res, err := op.ListTokens(context.Background(), connect.NewRequest(&v1.ListTokensRequest{IncludeRevoked: includeRevoked}))
	if err != nil {
		t.Fatalf("ListTokens of the operator: %v", err)
	}
	out := map[string]*v1.Token{}
	for _, tk := range res.Msg.Tokens {
		out[tk.Id] = tk
	}
	return out
}

// operatorTokenID returns the id of the token named name.
func operatorTokenID(t *testing.T, op licensorv1connect.AdminServiceClient, name string) string {
	t.Helper()
	for id, tk := range operatorTokens(t, op, false) {
		if tk.Name == name {
			return id
		}
	}
	t.Fatalf("no live operator token named %q", name)
	return ""
}

// works reports an error unless token may call the operator's ListTenants.
func works(t *testing.T, s *testserver.Server, p testserver.Protocol, what, token string) {
	t.Helper()
	if _, err := s.Admin(p, token).ListTenants(context.Background(), connect.NewRequest(&v1.ListTenantsRequest{})); err != nil {
		t.Errorf("%s: ListTenants: got %v, want it to work", what, err)
	}
}

// refused reports an error unless token is now refused as unauthenticated.
func refused(t *testing.T, s *testserver.Server, p testserver.Protocol, what, token string) {
	t.Helper()
	_, err := s.Admin(p, token).ListTenants(context.Background(), connect.NewRequest(&v1.ListTenantsRequest{}))
	if connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("%s: ListTenants: got %v, want %v saying it was revoked", what, err, connect.CodeUnauthenticated)
	}
}

// An operator rotates its token: creates another, revokes the old one,
// which is refused on the very next call; the last live operator token
// cannot be revoked.
func TestOperatorTokenRotation(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			old := s.Admin(p, s.OperatorToken)
			oldID := operatorTokenID(t, old, "test operator") // also puts the old token in the cache

			res, err := old.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "operator", Name: "rotated"}))
			if err != nil {
				t.Fatalf("CreateToken operator: %v", err)
			}
			tk, secret := res.Msg.Token, res.Msg.Secret
			if !strings.HasPrefix(secret, "lsr_op_") || tk.Role != "operator" || tk.TenantId != "" || tk.ContractId != "" ||
				tk.Name != "rotated" || !strings.HasPrefix(secret, strings.TrimSuffix(tk.Hint, "…")) || tk.RevokedAt != nil {
				t.Fatalf("CreateToken operator: got %v with secret %q, want a live operator token of no tenant, named rotated, whose hint starts its lsr_op_ secret", tk, secret)
			}
			works(t, s, p, "new operator token", secret)
			cur := s.Admin(p, secret)
			list := operatorTokens(t, cur, false)
			if len(list) != 2 || list[oldID] == nil || list[tk.Id] == nil {
				t.Fatalf("ListTokens of the operator: got %v, want the old and the new token", list)
			}

			rev, err := cur.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: oldID}))
			if err != nil {
				t.Fatalf("RevokeToken of the old operator token: %v", err)
			}
			if rev.Msg.Token.Id != oldID || rev.Msg.Token.RevokedAt == nil {
				t.Errorf("RevokeToken: got %v, want %s revoked", rev.Msg.Token, oldID)
			}
			refused(t, s, p, "old operator token after revocation", s.OperatorToken)
			works(t, s, p, "new operator token after the rotation", secret)

			// The last live one: refused, and still working.
			_, err = cur.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: tk.Id}))
			if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "create another operator token first") {
				t.Errorf("RevokeToken of the last operator token: got %v, want %v saying to create another first", err, connect.CodeFailedPrecondition)
			}
			works(t, s, p, "last operator token after the refused revocation", secret)

			if got := operatorTokens(t, cur, false); len(got) != 1 || got[tk.Id] == nil {
				t.Errorf("live operator tokens: got %v, want only %s", got, tk.Id)
			}
			if got := operatorTokens(t, cur, true); len(got) != 2 || got[oldID].GetRevokedAt() == nil {
				t.Errorf("operator tokens with revoked: got %v, want both, %s revoked", got, oldID)
			}

			// Revoking one's own token is allowed while another is live.
			third, err := cur.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "operator", Name: "third",
				ExpiresAt: timestamppb.New(s.Clock.Now().Add(24 * time.Hour))}))
			if err != nil {
				t.Fatalf("CreateToken third: %v", err)
			}
			if _, err := cur.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: tk.Id})); err != nil {
				t.Fatalf("RevokeToken of its own token with another live: %v", err)
			}
			refused(t, s, p, "operator token that revoked itself", secret)
			works(t, s, p, "third operator token", third.Msg.Secret)
		})
	}
}

// Tenant admins never see or touch operator tokens, and the operator's
// token calls without a tenant never reach a tenant's tokens.
func TestOperatorTokenIsolation(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			op := s.Admin(p, s.OperatorToken)
			adm := s.Admin(p, f.AdminToken)
			opID := operatorTokenID(t, op, "test operator")
			admID := adminTokenID(t, adm)

			for _, c := range []struct {
				name string
				code connect.Code
				want string
				call func() error
			}{
				{"AdminCreates", connect.CodePermissionDenied, "only an operator token", func() error {
					_, err := adm.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "operator", Name: "mine"}))
					return err
				}},
				{"AdminCreatesInOwnTenant", connect.CodePermissionDenied, "only an operator token", func() error {
					_, err := adm.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{TenantId: f.TenantID, Role: "operator"}))
					return err
				}},
				{"ContractTokenCreates", connect.CodePermissionDenied, "only an operator token", func() error {
					_, err := s.Admin(p, f.ContractToken).CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "operator"}))
					return err
				}},
				{"AdminRevokes", connect.CodeNotFound, "not found", func() error {
					_, err := adm.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: opID}))
					return err
				}},
				{"OperatorRevokesInTenant", connect.CodeNotFound, "not found", func() error {
					_, err := op.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TenantId: f.TenantID, TokenId: opID}))
					return err
				}},
				{"OperatorRevokesTenantTokenWithoutTenant", connect.CodeNotFound, "give its tenant_id", func() error {
					_, err := op.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: admID}))
					return err
				}},
			} {
				t.Run(c.name, func(t *testing.T) {
					err := c.call()
					if connect.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.want) {
						t.Errorf("got %v, want %v saying %q", err, c.code, c.want)
					}
				})
			}
			works(t, s, p, "operator token after the refused calls", s.OperatorToken)
			if got := operatorTokens(t, op, true); len(got) != 1 || got[opID] == nil {
				t.Errorf("operator tokens after the refused calls: got %v, want only %s", got, opID)
			}

			res, err := adm.ListTokens(ctx, connect.NewRequest(&v1.ListTokensRequest{IncludeRevoked: true}))
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range res.Msg.Tokens {
				if tk.Role == "operator" || tk.TenantId != f.TenantID {
					t.Errorf("tenant's ListTokens: got %s (%s of tenant %q), want only tokens of %s", tk.Id, tk.Role, tk.TenantId, f.TenantID)
				}
			}
			res, err = op.ListTokens(ctx, connect.NewRequest(&v1.ListTokensRequest{TenantId: f.TenantID, IncludeRevoked: true}))
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range res.Msg.Tokens {
				if tk.Role == "operator" {
					t.Errorf("operator's ListTokens of a tenant: got operator token %s, want only the tenant's", tk.Id)
				}
			}
			// The operator still revokes a tenant's token by naming the tenant.
			if _, err := op.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TenantId: f.TenantID, TokenId: admID})); err != nil {
				t.Errorf("RevokeToken of a tenant's token with its tenant: %v", err)
			}
		})
	}
}

// Bad requests about operator tokens say what to change.
func TestOperatorTokenBadInput(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			op := s.Admin(p, s.OperatorToken)
			for _, c := range []struct {
				name string
				code connect.Code
				want string
				call func() error
			}{
				{"CreateInTenant", connect.CodeInvalidArgument, "leave tenant_id empty", func() error {
					_, err := op.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{TenantId: f.TenantID, Role: "operator"}))
					return err
				}},
				{"CreateForContract", connect.CodeInvalidArgument, "leave contract_id empty", func() error {
					_, err := op.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "operator", ContractId: f.ContractID}))
					return err
				}},
				{"CreateExpired", connect.CodeInvalidArgument, "in the past", func() error {
					_, err := op.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "operator",
						ExpiresAt: timestamppb.New(s.Clock.Now().Add(-time.Hour))}))
					return err
				}},
				{"CreateUnknownRole", connect.CodeInvalidArgument, "use admin or contract", func() error {
					_, err := op.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{TenantId: f.TenantID, Role: "root"}))
					return err
				}},
				{"ListOfContract", connect.CodeInvalidArgument, "give its tenant_id too", func() error {
					_, err := op.ListTokens(ctx, connect.NewRequest(&v1.ListTokensRequest{ContractId: f.ContractID}))
					return err
				}},
				{"ListNegativePage", connect.CodeInvalidArgument, "page size", func() error {
					_, err := op.ListTokens(ctx, connect.NewRequest(&v1.ListTokensRequest{PageSize: -1}))
					return err
				}},
				{"RevokeNoID", connect.CodeInvalidArgument, "token_id", func() error {
					_, err := op.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{}))
					return err
				}},
				{"RevokeUnknown", connect.CodeNotFound, "operator token tok_nosuchtoken not found", func() error {
					_, err := op.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: "tok_nosuchtoken"}))
					return err
				}},
			} {
				t.Run(c.name, func(t *testing.T) {
					err := c.call()
					if connect.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.want) {
						t.Errorf("got %v, want %v saying %q", err, c.code, c.want)
					}
				})
			}
			if got := operatorTokens(t, op, true); len(got) != 1 {
				t.Errorf("operator tokens after the refused calls: got %d, want 1", len(got))
			}
		})
	}
}

// The operator's token list pages like every other list.
func TestOperatorTokenPaging(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			op := s.Admin(p, s.OperatorToken)
			want := map[string]bool{operatorTokenID(t, op, "test operator"): true}
			for range 4 {
				res, err := op.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "operator"}))
				if err != nil {
					t.Fatal(err)
				}
				want[res.Msg.Token.Id] = true
			}
			got := map[string]bool{}
			pages, token := 0, ""
			for {
				res, err := op.ListTokens(ctx, connect.NewRequest(&v1.ListTokensRequest{PageSize: 2, PageToken: token}))
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, tk := range res.Msg.Tokens {
					if got[tk.Id] {
						t.Errorf("page %d: got %s again", pages, tk.Id)
					}
					got[tk.Id] = true
				}
				if token = res.Msg.NextPageToken; token == "" || pages > 5 {
					break
				}
			}
			if len(got) != len(want) || pages != 3 {
				t.Errorf("got %d tokens in %d pages, want %d in 3", len(got), pages, len(want))
			}
			for id := range want {
				if !got[id] {
					t.Errorf("paging: got no %s, want it listed", id)
				}
			}
		})
	}
}

// Creating and revoking operator tokens is audited in the operator's own
// log, which ListAuditEntries without a tenant shows the operator; no
// tenant sees it, and a refused revocation writes nothing.
func TestOperatorTokenAudit(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			op := s.Admin(p, s.OperatorToken)
			opID := operatorTokenID(t, op, "test operator")
			tenantBefore := len(auditEntries(t, s.Admin(p, f.AdminToken), ""))

			res, err := op.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "operator", Name: "next"}))
			if err != nil {
				t.Fatal(err)
			}
			next := res.Msg.Token.Id
			if _, err := s.Admin(p, res.Msg.Secret).RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: opID})); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Admin(p, res.Msg.Secret).RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: next})); connect.CodeOf(err) != connect.CodeFailedPrecondition {
				t.Fatalf("RevokeToken of the last: got %v, want %v", err, connect.CodeFailedPrecondition)
			}

			log := auditEntries(t, s.Admin(p, res.Msg.Secret), "")
			if len(log) != 2 {
				t.Fatalf("operator's log: got %d entries, want 2 (the create and the revoke)", len(log))
			}
			for i, want := range []struct{ action, object, token string }{{"token.revoke", opID, next}, {"token.create", next, opID}} {
				e := log[i]
				if e.Action != want.action || e.ObjectType != "token" || e.ObjectId != want.object || e.ActorRole != "operator" ||
					e.TokenId != want.token || e.TenantId != "" {
					t.Errorf("entry %d: got %s token/%s by %s %s in tenant %q, want %s token/%s by operator %s in no tenant",
						i, e.Action, e.ObjectId, e.ActorRole, e.TokenId, e.TenantId, want.action, want.object, want.token)
				}
				if _, ok := e.After.AsMap()["hash"]; ok {
					t.Errorf("entry %d: got the token's hash in the log, want none", i)
				}
			}
			if got := log[0].After.AsMap()["revoked_at"]; got == nil || got == zeroJSONTime {
				t.Errorf("revoke entry: got revoked_at %v after, want the revocation time", got)
			}
			if got := len(auditEntries(t, s.Admin(p, f.AdminToken), "")); got != tenantBefore {
				t.Errorf("tenant's log: got %d entries, want %d (none added)", got, tenantBefore)
			}
		})
	}
}
