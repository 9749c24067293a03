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
	// changesAt is the next instant at which the signing key or the
	// published set changes by the clock alone (a staged key activates, a
	// retired key leaves the JWKS); the entry is stale from then on,
	// whatever the cache's TTL says. Zero: no such instant.
	changesAt time.Time
}

// stale reports whether the clock has reached the entry's next change.
func (tk *tenantKeys) stale(now time.Time) bool {
	return !tk.changesAt.IsZero() && !now.Before(tk.changesAt)
}

// tenantKeys returns the keys of the tenant ctx is scoped to.
func (s *Service) tenantKeys(ctx context.Context) (*tenantKeys, error) {
	tenantID, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if tk, ok := s.keys.get(tenantID); ok && !tk.stale(s.now()) {
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
		if k.SignsAt(now) && tk.active == nil {
			tk.active = k
		}
		if k.Published(now) {
			published = append(published, k)
			tk.set[k.ID] = k.Public
		}
		for _, t := range []time.Time{k.ActivateAt, k.RetiredAt, k.PublishUntil} {
			if t.After(now) && (tk.changesAt.IsZero() || t.Before(tk.changesAt)) {
				tk.changesAt = t
			}
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

// createKey makes and stores a new key for the scoped tenant, signing from
// activateAt (zero: at once), and retires at that instant the key signing
// until then. The retired key stays published until every license it may
// have signed has expired: its retirement plus the longest license
// validity of the tenant's contracts (static files raise it further when
// issued).
func (s *Service) createKey(ctx context.Context, now, activateAt time.Time, longest time.Duration) (*licensor.SigningKey, error) {
	tenantID, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if activateAt.Before(now) {
		activateAt = now
	}
	k, _, err := signing.NewSigningKey(s.sealer, tenantID, now)
	if err != nil {
		return nil, licensor.Internal("new signing key", err)
	}
	k.ActivateAt = activateAt
	if err := s.store.CreateSigningKey(ctx, k, activateAt.Add(longest)); err != nil {
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

// RotateOptions say when a rotated-in key starts signing.
type RotateOptions struct {
	// ActivateAfter is how long the new key is published before it signs;
	// nil: licensor.DefaultKeyActivation. Zero signs with it at once.
	ActivateAfter *time.Duration
	// Force allows an ActivateAfter shorter than the tenant's longest
	// license validity.
	Force bool
}

// RotateSigningKey makes a new key for a tenant, published at once and
// signing after opts.ActivateAfter; the current key signs until then. A
// key that would sign sooner than a license lifetime (the longest license
// validity of the tenant's contracts) after it is published needs
// opts.Force: a product that pins the tenant's keys, or fetched the JWKS at
// its last refresh, would refuse every license it signs.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN, EPRECONDITION (too soon without force).
func (s *Service) RotateSigningKey(ctx context.Context, tenantID string, opts RotateOptions) (*licensor.SigningKey, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	after := licensor.DefaultKeyActivation
	if opts.ActivateAfter != nil {
		after = *opts.ActivateAfter
	}
	if after < 0 || after > licensor.MaxKeyActivation {
		return nil, licensor.Errorf(licensor.EINVALID, "activate_after must be between 0 and %s, got %s", licensor.FormatDuration(licensor.MaxKeyActivation), after)
	}
	longest, err := s.longestValidity(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if after < longest && !opts.Force {
		return nil, licensor.Errorf(licensor.EPRECONDITION,
			"the new key would sign %s after it is published, less than a license lifetime (%s): products that pin the keys or cached the JWKS would refuse its licenses; activate after %s or more (it is safe to sign with a key published now from %s on), or force the rotation",
			licensor.FormatDuration(after), licensor.FormatDuration(longest), licensor.FormatDuration(longest), now.Add(longest).Format(time.RFC3339))
	}
	k, err := s.createKey(ctx, now, now.Add(after), longest)
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
	return map[string]any{"id": k.ID, "created_at": k.CreatedAt, "activate_at": k.ActivateAt, "retired_at": k.RetiredAt, "publish_until": k.PublishUntil}
}
