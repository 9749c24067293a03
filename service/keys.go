package service

import (
	"context"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/license"
)

// tenantKeys is a tenant's active signer and published key set, kept in
// s.keys (a ttlCache by tenant id, Config.KeyCacheTTL) so that the hot path
// neither reads the keys table nor decrypts a private key per license. A
// rotation through this server drops the entry at once; one made through
// another server is picked up within the TTL. A fill that read the keys
// before a rotation is not put back (see ttlCache).
type tenantKeys struct {
	signer *signing.Signer
	active *licensor.SigningKey
	all    []*licensor.SigningKey
	jwks   []byte
	set    license.KeySet
	// err is why the active key does not open: kept for the cache's TTL
	// like a good entry, so that a server with the wrong master key
	// answers UNAVAILABLE without a store read, an unseal attempt and a
	// log line per request.
	err error
}

// tenantKeys returns the keys of the tenant ctx is scoped to.
func (s *Service) tenantKeys(ctx context.Context) (*tenantKeys, error) {
	tenantID, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if tk, ok := s.keys.get(tenantID); ok {
		if tk.err != nil {
			return nil, tk.err
		}
		return tk, nil
	}
	gen := s.keys.generation()
	now := s.now()
	keys, err := s.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	tk := &tenantKeys{all: keys, set: license.KeySet{}}
	var published []*licensor.SigningKey
	for _, k := range keys {
		if k.RetiredAt.IsZero() && tk.active == nil {
			tk.active = k
		}
		if k.Published(now) {
			published = append(published, k)
			tk.set[k.ID] = k.Public
		}
	}
	if tk.active == nil {
		return nil, licensor.Errorf(licensor.EPRECONDITION, "tenant %s has no signing key; rotate one with RotateSigningKey", tenantID)
	}
	priv, err := s.sealer.Open(tk.active.ID, tk.active.Sealed)
	if err != nil {
		tk.err = s.keyUnavailable(ctx, tenantID, tk.active.ID, err)
		s.keys.put(tenantID, tk, gen)
		return nil, tk.err
	}
	if tk.signer, err = signing.NewSigner(tk.active.ID, priv, signing.WithWorkers(s.sigw)); err != nil {
		return nil, licensor.Internal("signer", err)
	}
	if tk.jwks, err = license.MarshalJWKS(published); err != nil {
		return nil, licensor.Internal("jwks", err)
	}
	s.keys.put(tenantID, tk, gen)
	return tk, nil
}

// keyUnavailable is the answer when a stored signing key does not open:
// this server holds another master key than the one the key was sealed
// with (a master.key lost, replaced or restored from another backup). No
// retry on this server will help, but another server or a restart with the
// right key will, and nothing is wrong with the request: UNAVAILABLE, with
// what to restore in the log for the operator.
func (s *Service) keyUnavailable(ctx context.Context, tenantID, keyID string, err error) error {
	s.log.ErrorContext(ctx, "a signing key does not open with this server's master key; restore the master key it was sealed with (master.key from the data directory's backup, or LICENSOR_MASTER_KEY) and restart",
		"tenant", tenantID, "key", keyID, "err", err)
	return &licensor.Error{Code: licensor.EUNAVAILABLE, Message: "the license server cannot sign right now; retry later, and tell the vendor if it persists", Err: err}
}

// createKey makes and stores a new active key for the scoped tenant,
// retiring the previous one. The retired key stays published until every
// license it may have signed has expired: now plus the longest license
// validity of the tenant's contracts (static files raise it further when
// issued).
func (s *Service) createKey(ctx context.Context) (*licensor.SigningKey, error) {
	tenantID, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	longest, err := s.longestValidity(ctx)
	if err != nil {
		return nil, err
	}
	k, _, err := signing.NewSigningKey(s.sealer, tenantID, now)
	if err != nil {
		return nil, licensor.Internal("new signing key", err)
	}
	if err := s.store.CreateSigningKey(ctx, k, now.Add(longest)); err != nil {
		return nil, err
	}
	s.keys.delete(tenantID)
	return k, nil
}

func (s *Service) longestValidity(ctx context.Context) (time.Duration, error) {
	longest := licensor.DefaultLicenseValidity
	opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
	for {
		cs, err := s.store.ListContracts(ctx, licensor.ContractFilter{ListOptions: opts})
		if err != nil {
			return 0, err
		}
		for _, c := range cs {
			if c.LicenseValidity > longest {
				longest = c.LicenseValidity
			}
		}
		if len(cs) < opts.Limit {
			return longest, nil
		}
		opts.After = cs[len(cs)-1].ID
	}
}

// RotateSigningKey makes a new active key for a tenant.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN.
func (s *Service) RotateSigningKey(ctx context.Context, tenantID string) (*licensor.SigningKey, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	k, err := s.createKey(ctx)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "signing_key.rotate", "signing_key", k.ID, nil, keyView(k))
	return k, nil
}

// ListSigningKeys lists a tenant's keys, newest first.
func (s *Service) ListSigningKeys(ctx context.Context, tenantID string) ([]*licensor.SigningKey, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return s.store.ListSigningKeys(ctx)
}

// JWKS returns the tenant's published public keys as a JWK Set. It needs no
// credentials: public keys are public.
func (s *Service) JWKS(ctx context.Context, tenantID string) ([]byte, error) {
	if err := licensor.ValidateID("tenant", tenantID); err != nil {
		return nil, err
	}
	tk, err := s.tenantKeys(licensor.WithTenant(ctx, tenantID))
	if err != nil {
		if licensor.ErrorCode(err) == licensor.EPRECONDITION {
			return nil, licensor.Errorf(licensor.ENOTFOUND, "tenant %s not found", tenantID)
		}
		return nil, err
	}
	return tk.jwks, nil
}

// KeySet returns the tenant's published public keys (ctx scoped).
func (s *Service) KeySet(ctx context.Context) (license.KeySet, error) {
	tk, err := s.tenantKeys(ctx)
	if err != nil {
		return nil, err
	}
	return tk.set, nil
}

// keyView is what the audit log records of a key: never the sealed private half.
func keyView(k *licensor.SigningKey) map[string]any {
	return map[string]any{"id": k.ID, "created_at": k.CreatedAt, "retired_at": k.RetiredAt, "publish_until": k.PublishUntil}
}
