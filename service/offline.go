package service

import (
	"context"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

// RespondOffline answers an offline request file (written by the client
// library, `licensor offline request` or `licensor agent
// --offline-request` on a machine that never reaches the server): it
// checks the request's self-signature, that it is for a contract of this
// tenant and that contract's product, and issues a license file bound to
// the request's instance key (cnf, by JWK thumbprint) and machine
// fingerprint. The instance takes a seat, and the request's nonce is
// recorded, in one transaction: a request answered once is refused the
// second time. validity is as for IssueLicenseFile (default 365 days,
// never past the contract's end).
// Codes: EINVALID (malformed, altered or incomplete request), ENOTFOUND
// (contract of another tenant or none), EFORBIDDEN (request for another
// tenant or product; contract ended or suspended), ECONFLICT (replayed
// request), EEXHAUSTED (no seat free).
func (s *Service) RespondOffline(ctx context.Context, tenantID, requestFile string, validity time.Duration) (string, *Issued, *licensor.OfflineActivation, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return "", nil, nil, err
	}
	token, err := license.DearmorLabel(licensor.OfflineRequestLabel, []byte(requestFile))
	if err != nil {
		return "", nil, nil, err
	}
	req, pub, err := license.VerifyOfflineRequest(token)
	if err != nil {
		return "", nil, nil, err
	}
	tid, _ := licensor.TenantFrom(ctx)
	if req.Tenant != "" && req.Tenant != tid {
		return "", nil, nil, licensor.Errorf(licensor.EFORBIDDEN, "the offline request is for tenant %s, not %s: send it to that vendor", req.Tenant, tid)
	}
	if validity == 0 {
		validity = 365 * 24 * time.Hour
	}
	if err := licensor.ValidateDuration("validity", validity, licensor.MinLicenseValidity, 10*365*24*time.Hour); err != nil {
		return "", nil, nil, err
	}
	c, err := s.store.GetContract(ctx, req.Contract)
	if err != nil {
		return "", nil, nil, err
	}
	if req.Product != c.ProductID {
		return "", nil, nil, licensor.Errorf(licensor.EFORBIDDEN, "the offline request is for product %s; contract %s is for %s", req.Product, c.ID, c.ProductID)
	}
	instanceID, err := licensor.NormalizeID("instance_id", req.Instance)
	if err != nil {
		return "", nil, nil, err
	}
	if instanceID, err = c.InstanceKey(instanceID); err != nil {
		return "", nil, nil, err
	}
	now := s.now().UTC()
	fc := *c
	fc.LicenseValidity = validity
	terms, err := fc.Terms(now)
	if err != nil {
		return "", nil, nil, err
	}
	tk, err := s.tenantKeys(ctx)
	if err != nil {
		return "", nil, nil, err
	}
	jkt := license.Thumbprint(pub)
	claims := s.claims(c, instanceID, terms, licensor.LicenseKindFile)
	seat := true
	claims.Seat = &seat
	claims.Confirmation = &licensor.Confirmation{JKT: jkt}
	claims.Fingerprint = req.Fingerprint
	signed, err := tk.signer.SignLicense(claims)
	if err != nil {
		return "", nil, nil, licensor.Internal("sign offline license", err)
	}
	a := &licensor.OfflineActivation{
		LicenseID: claims.ID, ContractID: c.ID, InstanceID: instanceID, KeyJKT: jkt,
		PublicKey: license.InstanceJWK(pub).X, Fingerprint: req.Fingerprint, Nonce: req.Nonce,
		CreatedAt: now, ExpiresAt: terms.Expiry,
	}
	_, err = s.store.CreateOfflineActivation(ctx, a, licensor.Checkin{
		ContractID: c.ID, InstanceID: instanceID, TakesSeat: true, Now: now, Fingerprint: req.Fingerprint,
		LicenseID: claims.ID, LicenseExpiresAt: terms.Expiry,
	})
	if err != nil {
		return "", nil, nil, s.seatsTaken(ctx, c, "", err)
	}
	if err := s.store.ExtendKeyPublication(ctx, tk.signer.KeyID(), terms.Expiry); err != nil {
		return "", nil, nil, err
	}
	s.audit(ctx, "offline.activate", "instance", c.ID+"/"+instanceID, nil, map[string]any{
		"license_id": claims.ID, "key_jkt": jkt, "fingerprint": req.Fingerprint, "expires_at": terms.Expiry,
	})
	return string(license.Armor(signed)), &Issued{Token: signed, Claims: claims, KeyID: tk.signer.KeyID(), ServerTime: now}, a, nil
}

// ReturnOffline frees the seat of an offline license on the machine's
// proof that it deleted it: a return file signed by the instance key the
// license is bound to, naming the license, its instance and contract.
// Codes: EINVALID (malformed file, or a signature that does not verify
// with the bound key), ENOTFOUND (no such offline license in this tenant),
// EFORBIDDEN (the proof names another instance or contract),
// EPRECONDITION (already returned or released).
func (s *Service) ReturnOffline(ctx context.Context, tenantID, returnFile string) (*licensor.OfflineActivation, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	token, err := license.DearmorLabel(licensor.OfflineReturnLabel, []byte(returnFile))
	if err != nil {
		return nil, err
	}
	id, err := license.ReturnedLicenseID(token)
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetOfflineActivation(ctx, id)
	if err != nil {
		return nil, err
	}
	pub, err := license.KeyOf(licensor.JWK{Kty: "OKP", Crv: "Ed25519", X: a.PublicKey})
	if err != nil {
		return nil, licensor.Internal("stored offline key", err)
	}
	r, err := license.VerifyOfflineReturn(token, pub)
	if err != nil {
		return nil, err
	}
	if r.LicenseID != a.LicenseID || r.Contract != a.ContractID || r.Instance != a.InstanceID {
		return nil, licensor.Errorf(licensor.EFORBIDDEN, "the return proof names instance %s of contract %s; offline license %s is for instance %s of contract %s",
			r.Instance, r.Contract, a.LicenseID, a.InstanceID, a.ContractID)
	}
	after, err := s.store.ReleaseOfflineActivation(ctx, a.LicenseID, licensor.OfflineReleaseReturned, s.now().UTC())
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "offline.return", "instance", a.ContractID+"/"+a.InstanceID, a, after)
	return after, nil
}

// ReleaseOffline frees the seat of an offline license without the
// machine's proof (the machine was lost or destroyed), audited with the
// reason given. The license itself stays valid until its exp: a license
// file cannot be recalled from a machine that never calls.
// Codes: EINVALID (no reason), ENOTFOUND, EPRECONDITION (already released).
func (s *Service) ReleaseOffline(ctx context.Context, tenantID, licenseID, reason string) (*licensor.OfflineActivation, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("license_id", licenseID); err != nil {
		return nil, err
	}
	if err := licensor.ValidateName("reason", reason); err != nil {
		return nil, licensor.Errorf(licensor.EINVALID, "a forced release needs a reason for the audit log (%s)", licensor.ErrorMessage(err))
	}
	before, err := s.store.GetOfflineActivation(ctx, licenseID)
	if err != nil {
		return nil, err
	}
	after, err := s.store.ReleaseOfflineActivation(ctx, licenseID, licensor.OfflineReleaseForced, s.now().UTC())
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "offline.force_release", "instance", before.ContractID+"/"+before.InstanceID, before,
		map[string]any{"activation": after, "reason": reason})
	return after, nil
}

// GetOffline returns an offline activation by its license id.
// Codes: EINVALID, ENOTFOUND.
func (s *Service) GetOffline(ctx context.Context, tenantID, licenseID string) (*licensor.OfflineActivation, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("license_id", licenseID); err != nil {
		return nil, err
	}
	return s.store.GetOfflineActivation(ctx, licenseID)
}
