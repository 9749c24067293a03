package service

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

// LicenseRequest is what an instance sends to get a license.
type LicenseRequest struct {
	ContractID string
	InstanceID string
	Host       string
	// Fingerprint is the instance's salted machine fingerprint, if sent.
	Fingerprint string
	RemoteAddr  string
	// Environment, from telemetry: production, staging, development or test.
	Environment string
	// Telemetry the instance reported, if any; validated before anything
	// is issued and stored as the tenant's settings say.
	Telemetry *licensor.Telemetry
	// PeerCertificates are the TLS client certificates the caller presented,
	// checked when the contract requires one.
	PeerCertificates []*x509.Certificate
}

// Issued is a signed license and what it says.
type Issued struct {
	Token      string
	Claims     *licensor.Claims
	KeyID      string
	ServerTime time.Time
}

// contractForInstance checks that the caller's contract token is for
// contractID and returns the contract, with ctx scoped to its tenant. It
// normalizes *instanceID in place (licensor.NormalizeID), so that every
// use after it sees the one spelling that is compared and stored.
func (s *Service) contractForInstance(ctx context.Context, contractID string, instanceID *string) (context.Context, *licensor.Contract, error) {
	a, err := actor(ctx)
	if err != nil {
		return ctx, nil, err
	}
	if a.Role != licensor.RoleContract {
		return ctx, nil, licensor.Errorf(licensor.EFORBIDDEN, "instances call with a contract token, not an %s token", a.Role)
	}
	if err := licensor.ValidateID("contract_id", contractID); err != nil {
		return ctx, nil, err
	}
	id, err := licensor.NormalizeID("instance_id", *instanceID)
	if err != nil {
		return ctx, nil, err
	}
	*instanceID = id
	if contractID != a.ContractID {
		return ctx, nil, licensor.Errorf(licensor.EFORBIDDEN, "this token is for another contract, not %s", contractID)
	}
	ctx = licensor.WithTenant(ctx, a.TenantID)
	key := contractKey{a.TenantID, contractID}
	if c, ok := s.contracts.get(key); ok {
		return ctx, c, nil
	}
	gen := s.contracts.generation()
	c, err := s.store.GetContract(ctx, contractID)
	if err != nil {
		return ctx, nil, err
	}
	s.contracts.put(key, c, gen)
	return ctx, c, nil
}

// GetLicense issues a fresh license to an instance. A new instance takes a
// seat if the contract has one free; an existing one keeps its seat.
// Codes: EUNAUTHORIZED, EFORBIDDEN (wrong contract, ended or suspended
// contract, missing client certificate), EINVALID, ENOTFOUND, EEXHAUSTED
// (no seat free).
func (s *Service) GetLicense(ctx context.Context, req LicenseRequest) (*Issued, error) {
	ctx, c, err := s.contractForInstance(ctx, req.ContractID, &req.InstanceID)
	if err != nil {
		return nil, err
	}
	return s.issue(ctx, c, req)
}

func (s *Service) issue(ctx context.Context, c *licensor.Contract, req LicenseRequest) (*Issued, error) {
	if err := checkClientCert(c, req.PeerCertificates); err != nil {
		return nil, err
	}
	ch, err := s.prepareCheck(ctx, c, req)
	if err != nil {
		return nil, err
	}
	if req.Host != "" {
		if err := licensor.ValidateName("host", req.Host); err != nil {
			return nil, err
		}
	}
	if req.Fingerprint != "" {
		if err := licensor.ValidateFingerprint(req.Fingerprint); err != nil {
			return nil, err
		}
	}
	now := s.now().UTC()
	terms, err := c.Terms(now)
	if err != nil {
		return nil, err
	}
	if err := s.refuseClone(ctx, c, ch.instanceID, req.Fingerprint, now); err != nil {
		return nil, err
	}
	tk, err := s.tenantKeys(ctx)
	if err != nil {
		return nil, err
	}
	seat := takesSeat(c, ch.env)
	claims := s.claims(c, ch.instanceID, terms, licensor.LicenseKindLive)
	claims.Environment, claims.Seat = claimedEnvironment(ch.env), &seat
	span := s.signSpan(ctx, "sign.license")
	token, err := tk.signer.SignLicense(claims)
	endSpan(span)
	if err != nil {
		return nil, licensor.Internal("sign license", err)
	}
	_, err = s.store.Checkin(ctx, licensor.Checkin{
		ContractID:       c.ID,
		InstanceID:       ch.instanceID,
		TakesSeat:        takesSeat(c, ch.env),
		Environment:      ch.env,
		Host:             licensor.RedactToken(req.Host),
		Fingerprint:      req.Fingerprint,
		RemoteAddr:       ch.remoteAddr,
		Now:              now,
		LicenseID:        claims.ID,
		LicenseExpiresAt: terms.Expiry,
		CloneWindow:      c.RefreshInterval,
		Telemetry:        ch.telemetry,
	})
	if err != nil {
		return nil, s.seatsTaken(ctx, c, ch.env, err)
	}
	return &Issued{Token: token, Claims: claims, KeyID: tk.signer.KeyID(), ServerTime: now}, nil
}

// takesSeat decides whether an instance counts against the contract's
// seats: always under the instance rule; under the production-URL rule only
// in production (an unset environment counts as production, so that leaving
// it out cannot be used to dodge a seat).
func takesSeat(c *licensor.Contract, env string) bool {
	if c.SeatRule != licensor.SeatProductionURL {
		return true
	}
	return env == "" || env == "production"
}

// claimedEnvironment is the environment a live license names: the one the
// instance reported, and production when it reported none, as that is how
// it takes a seat; a license never leaves a non-production instance
// indistinguishable from a production one.
func claimedEnvironment(env string) string {
	if env == "" {
		return licensor.EnvProduction
	}
	return env
}

func (s *Service) claims(c *licensor.Contract, instanceID string, t licensor.LicenseTerms, kind string) *licensor.Claims {
	cl := &licensor.Claims{
		Issuer:          c.TenantID,
		Subject:         instanceID,
		ID:              licensor.NewID(licensor.PrefixLicense),
		IssuedAt:        t.NotBefore.Unix(),
		NotBefore:       t.NotBefore.Unix(),
		Expiry:          t.Expiry.Unix(),
		Contract:        c.ID,
		Customer:        c.CustomerID,
		Product:         c.ProductID,
		Features:        c.FeatureClaims(),
		RefreshAfter:    int64(t.RefreshAfter / time.Second),
		FallbackRule:    c.Fallback,
		Kind:            kind,
		ContractVersion: c.Version,
	}
	if t.Fallback {
		cl.FallbackCutoff = t.FallbackCutoff.Unix()
	}
	return cl
}

// checkClientCert enforces a contract's mutual-TLS requirement: the caller
// must have presented a certificate chain to the CA the vendor uploaded.
func checkClientCert(c *licensor.Contract, peer []*x509.Certificate) error {
	if c.ClientCAPEM == "" {
		return nil
	}
	if len(peer) == 0 {
		return licensor.Errorf(licensor.EFORBIDDEN, "contract %s requires a TLS client certificate; none was presented", c.ID)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(c.ClientCAPEM)) {
		return licensor.Internal("client CA", errBadCA)
	}
	inter := x509.NewCertPool()
	for _, ic := range peer[1:] {
		inter.AddCert(ic)
	}
	if _, err := peer[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return licensor.Errorf(licensor.EFORBIDDEN, "client certificate is not issued by the contract's CA: %v", err)
	}
	return nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errBadCA = constError("stored client CA does not parse")

// WatchLicense sends a license at once, then a fresh one whenever the
// contract changes or the last one reaches its refresh time, until ctx ends.
// send returning an error ends the watch with that error.
func (s *Service) WatchLicense(ctx context.Context, req LicenseRequest, send func(*Issued) error) error {
	ctx, c, err := s.contractForInstance(ctx, req.ContractID, &req.InstanceID)
	if err != nil {
		return err
	}
	changed, cancel := s.feed.Subscribe(c.TenantID, c.ID)
	defer cancel()
	// Read the contract again now that the subscription is in place: a
	// change made between the first read and Subscribe would otherwise wait
	// for the next refresh.
	if c, err = s.store.GetContract(ctx, c.ID); err != nil {
		return err
	}
	for {
		is, err := s.issue(ctx, c, req)
		if err != nil {
			return err
		}
		if err := send(is); err != nil {
			return err
		}
		// The stream's telemetry was recorded with its first license; the
		// re-issues that follow carry nothing new.
		req.Telemetry = nil
		refresh := time.NewTimer(time.Duration(is.Claims.RefreshAfter) * time.Second)
		select {
		case <-ctx.Done():
			refresh.Stop()
			return nil
		case <-changed:
		case <-refresh.C:
		}
		refresh.Stop()
		if c, err = s.store.GetContract(ctx, c.ID); err != nil {
			return err
		}
	}
}

// IssueLicenseFile issues a static license file for an instance: the same
// signed format, valid for validity (default 365 days, never past the
// contract's end), armored. The signing key stays published until it expires.
// environment, if set (production, staging, development or test), is put in
// the license's environment claim; empty leaves the claim out, which means
// unrestricted. A file holds no seat and says nothing of one.
// Codes: EINVALID, ENOTFOUND, EFORBIDDEN (contract ended or suspended).
func (s *Service) IssueLicenseFile(ctx context.Context, tenantID, contractID, instanceID, environment string, validity time.Duration) (string, *Issued, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return "", nil, err
	}
	return s.issueLicenseFile(ctx, contractID, instanceID, environment, validity, nil)
}

// issueLicenseFile is IssueLicenseFile in ctx's tenant scope; allowed, if
// set, refuses a contract the caller may not reach (with its error).
func (s *Service) issueLicenseFile(ctx context.Context, contractID, instanceID, environment string, validity time.Duration, allowed func(*licensor.Contract) error) (string, *Issued, error) {
	if err := licensor.ValidateID("contract_id", contractID); err != nil {
		return "", nil, err
	}
	instanceID, err := licensor.NormalizeID("instance_id", instanceID)
	if err != nil {
		return "", nil, err
	}
	switch environment {
	case "", licensor.EnvProduction, licensor.EnvStaging, licensor.EnvDevelopment, licensor.EnvTest:
	default:
		return "", nil, licensor.Errorf(licensor.EINVALID, "license file environment: use production, staging, development or test, or leave it empty for an unrestricted license")
	}
	if validity == 0 {
		validity = 365 * 24 * time.Hour
	}
	if err := licensor.ValidateDuration("validity", validity, licensor.MinLicenseValidity, 10*365*24*time.Hour); err != nil {
		return "", nil, err
	}
	c, err := s.store.GetContract(ctx, contractID)
	if err != nil {
		return "", nil, err
	}
	if allowed != nil {
		if err := allowed(c); err != nil {
			return "", nil, err
		}
	}
	if instanceID, err = c.InstanceKey(instanceID); err != nil {
		return "", nil, err
	}
	now := s.now().UTC()
	fc := *c
	fc.LicenseValidity = validity
	terms, err := fc.Terms(now)
	if err != nil {
		return "", nil, err
	}
	tk, err := s.tenantKeys(ctx)
	if err != nil {
		return "", nil, err
	}
	claims := s.claims(c, instanceID, terms, licensor.LicenseKindFile)
	claims.Environment = environment
	span := s.signSpan(ctx, "sign.license")
	token, err := tk.signer.SignLicense(claims)
	endSpan(span)
	if err != nil {
		return "", nil, licensor.Internal("sign license file", err)
	}
	if err := s.store.ExtendKeyPublication(ctx, tk.signer.KeyID(), terms.Expiry); err != nil {
		return "", nil, err
	}
	is := &Issued{Token: token, Claims: claims, KeyID: tk.signer.KeyID(), ServerTime: now}
	s.audit(ctx, "license_file.issue", "contract", c.ID, nil, map[string]any{"license_id": claims.ID, "instance_id": instanceID, "environment": environment, "expires_at": terms.Expiry})
	return string(license.Armor(token)), is, nil
}
