package service

import (
	"context"

	"github.com/licensor/licensor"
)

// Operator tokens belong to no tenant. The operator manages them through
// the same calls as a tenant's tokens, with no tenant named; they are
// audited in the operator's own log (an audit entry without a tenant), and
// no tenant ever sees them. The last live one cannot be revoked, so that a
// server is never left without an operator: rotating means creating the
// new token first, then revoking the old.

// isOperator reports whether the caller holds an operator token.
func isOperator(ctx context.Context) bool {
	a, ok := licensor.ActorFrom(ctx)
	return ok && a.Role == licensor.RoleOperator
}

// createOperatorToken makes an operator token for an operator caller.
// Codes: EINVALID, EFORBIDDEN, EUNAUTHORIZED.
func (s *Service) createOperatorToken(ctx context.Context, tenantID string, t licensor.Token) (*licensor.Token, string, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, "", err
	}
	if a.Role != licensor.RoleOperator {
		return nil, "", licensor.Errorf(licensor.EFORBIDDEN, "only an operator token may create an operator token; a tenant admin creates admin or contract tokens")
	}
	if tenantID != "" {
		return nil, "", licensor.Errorf(licensor.EINVALID, "an operator token belongs to no tenant: leave tenant_id empty")
	}
	if t.ContractID != "" {
		return nil, "", licensor.Errorf(licensor.EINVALID, "an operator token belongs to no contract: leave contract_id empty")
	}
	if err := s.validateNewToken(t); err != nil {
		return nil, "", err
	}
	tok, secret, err := s.newToken(ctx, licensor.Token{Role: licensor.RoleOperator, Name: t.Name, ExpiresAt: t.ExpiresAt.UTC()})
	if err != nil {
		return nil, "", err
	}
	s.audit(ctx, "token.create", "token", tok.ID, nil, tokenView(tok))
	return tok, secret, nil
}

// listOperatorTokens lists the operator tokens (never their secrets).
func (s *Service) listOperatorTokens(ctx context.Context, f licensor.TokenFilter) ([]*licensor.Token, error) {
	if f.ContractID != "" {
		return nil, licensor.Errorf(licensor.EINVALID, "operator tokens belong to no contract: to list a contract's tokens, give its tenant_id too")
	}
	var err error
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListOperatorTokens(ctx, f)
}

// revokeOperatorToken revokes an operator token at once, on this server:
// the token cache forgets it. Codes: EINVALID, ENOTFOUND, EPRECONDITION
// (the last live operator token).
func (s *Service) revokeOperatorToken(ctx context.Context, id string) (*licensor.Token, error) {
	if err := licensor.ValidateID("token_id", id); err != nil {
		return nil, err
	}
	before, err := s.store.GetOperatorToken(ctx, id)
	if licensor.ErrorCode(err) == licensor.ENOTFOUND {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "operator token %s not found; to revoke a tenant's token, give its tenant_id too", id)
	}
	if err != nil {
		return nil, err
	}
	t, err := s.store.RevokeOperatorToken(ctx, id, s.now().UTC())
	s.forgetToken(id)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "token.revoke", "token", t.ID, tokenView(before), tokenView(t))
	return t, nil
}
