package service

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/licensor/licensor"
)

// newToken stores a token for the scoped tenant and returns it with its
// secret, which is never stored.
func (s *Service) newToken(ctx context.Context, t licensor.Token) (*licensor.Token, string, error) {
	secret, hash := licensor.NewTokenSecret(t.Role)
	t.ID = licensor.NewID(licensor.PrefixToken)
	t.TenantID, _ = licensor.TenantFrom(ctx)
	t.Hash = hash
	t.Hint = licensor.TokenHint(secret)
	t.CreatedAt = s.now().UTC()
	if err := s.store.CreateToken(ctx, &t); err != nil {
		return nil, "", err
	}
	return &t, secret, nil
}

// CreateOperatorToken makes an operator token. It needs no caller: it is
// how a new server is bootstrapped, and only cmd/licensor calls it, at first
// start, writing the secret to a file of mode 0600.
func (s *Service) CreateOperatorToken(ctx context.Context, name string) (*licensor.Token, string, error) {
	return s.newToken(ctx, licensor.Token{Role: licensor.RoleOperator, Name: name})
}

// CreateToken creates a token; the secret is returned once. An admin or
// contract token belongs to a tenant; an operator token (role operator,
// tenantID empty) only the operator may create.
// Codes: EINVALID, ENOTFOUND (contract), EFORBIDDEN.
func (s *Service) CreateToken(ctx context.Context, tenantID string, t licensor.Token) (*licensor.Token, string, error) {
	if t.Role == licensor.RoleOperator {
		return s.createOperatorToken(ctx, tenantID, t)
	}
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	switch t.Role {
	case licensor.RoleAdmin:
		if t.ContractID != "" {
			return nil, "", licensor.Errorf(licensor.EINVALID, "an admin token is for a whole tenant: leave contract_id empty")
		}
	case licensor.RoleContract:
		if err := licensor.ValidateID("contract_id", t.ContractID); err != nil {
			return nil, "", err
		}
		if _, err := s.store.GetContract(ctx, t.ContractID); err != nil {
			return nil, "", err
		}
	default:
		return nil, "", licensor.Errorf(licensor.EINVALID, "token role %q: use admin or contract (or operator, with the operator token)", t.Role)
	}
	if err := s.validateNewToken(t); err != nil {
		return nil, "", err
	}
	tok, secret, err := s.newToken(ctx, licensor.Token{Role: t.Role, ContractID: t.ContractID, Name: t.Name, ExpiresAt: t.ExpiresAt.UTC()})
	if err != nil {
		return nil, "", err
	}
	s.audit(ctx, "token.create", "token", tok.ID, nil, tokenView(tok))
	return tok, secret, nil
}

// validateNewToken checks what every new token's caller chooses: its name
// and its expiry.
func (s *Service) validateNewToken(t licensor.Token) error {
	if t.Name != "" {
		if err := licensor.ValidateName("token name", t.Name); err != nil {
			return err
		}
	}
	if !t.ExpiresAt.IsZero() && !t.ExpiresAt.After(s.now()) {
		return licensor.Errorf(licensor.EINVALID, "token expiry %s is in the past", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// ListTokens lists a tenant's tokens (never their secrets); for the
// operator with tenantID empty, the operator tokens.
func (s *Service) ListTokens(ctx context.Context, tenantID string, f licensor.TokenFilter) ([]*licensor.Token, error) {
	if tenantID == "" && isOperator(ctx) {
		return s.listOperatorTokens(ctx, f)
	}
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if f.ListOptions, err = f.Normalize(); err != nil {
		return nil, err
	}
	return s.store.ListTokens(ctx, f)
}

// RevokeToken revokes a token at once; for the operator with tenantID
// empty, an operator token, but never the last live one.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN, EPRECONDITION.
func (s *Service) RevokeToken(ctx context.Context, tenantID, id string) (*licensor.Token, error) {
	if tenantID == "" && isOperator(ctx) {
		return s.revokeOperatorToken(ctx, id)
	}
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("token_id", id); err != nil {
		return nil, err
	}
	before, err := s.store.GetToken(ctx, id)
	if err != nil {
		return nil, err
	}
	t, err := s.store.RevokeToken(ctx, id, s.now().UTC())
	s.forgetToken(id)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "token.revoke", "token", t.ID, tokenView(before), tokenView(t))
	return t, nil
}

// Authenticate resolves a bearer secret to the actor it stands for.
// Codes: EUNAUTHORIZED (unknown, revoked or expired token).
func (s *Service) Authenticate(ctx context.Context, secret string) (licensor.Actor, error) {
	if secret == "" {
		return licensor.Actor{}, licensor.Errorf(licensor.EUNAUTHORIZED, "no credentials: send Authorization: Bearer <token>")
	}
	if len(secret) > 256 {
		return licensor.Actor{}, licensor.Errorf(licensor.EUNAUTHORIZED, "token is not valid")
	}
	hash := licensor.TokenDigest(secret)
	t, cached := s.tokens.get(hash)
	var err error
	if !cached {
		gen := s.tokens.generation()
		stored := hash // the store's copy: only a miss puts one on the heap
		if t, err = s.store.TokenByHash(ctx, stored[:]); err == nil {
			s.tokens.put(hash, t, gen)
		}
	}
	if licensor.ErrorCode(err) == licensor.ENOTFOUND || (err == nil && subtle.ConstantTimeCompare(t.Hash, hash[:]) != 1) {
		return licensor.Actor{}, licensor.Errorf(licensor.EUNAUTHORIZED, "token is not valid")
	}
	if err != nil {
		return licensor.Actor{}, err
	}
	now := s.now()
	if !t.RevokedAt.IsZero() {
		return licensor.Actor{}, licensor.Errorf(licensor.EUNAUTHORIZED, "token %s was revoked at %s", t.ID, t.RevokedAt.UTC().Format(time.RFC3339))
	}
	if !t.Live(now) {
		return licensor.Actor{}, licensor.Errorf(licensor.EUNAUTHORIZED, "token %s expired at %s", t.ID, t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return licensor.Actor{Role: t.Role, TokenID: t.ID, TenantID: t.TenantID, ContractID: t.ContractID}, nil
}

// tokenView is what the audit log records of a token: never its hash.
func tokenView(t *licensor.Token) map[string]any {
	return map[string]any{"id": t.ID, "role": t.Role, "contract_id": t.ContractID, "name": t.Name, "hint": t.Hint,
		"created_at": t.CreatedAt, "expires_at": t.ExpiresAt, "revoked_at": t.RevokedAt}
}
