package licensor

import (
	"context"
	"time"
)

// Offline activation by file exchange, for sites that never reach the
// server. The machine writes a request file signed by a fresh instance key;
// the vendor (or the customer's administrator) turns it into a license file
// bound to that key and to the machine's fingerprint, which takes a seat;
// the machine later writes a return file, signed by the same key, proving it
// deleted the license, and only that proof (or an operator's forced,
// audited release) frees the seat.
const (
	// OfflineRequestType and OfflineReturnType are the "typ" headers of the
	// two files the machine signs with its instance key (alg EdDSA, kid the
	// key's JWK thumbprint).
	OfflineRequestType = "offline-request+jwt"
	OfflineReturnType  = "offline-return+jwt"
	// The armor labels of the two files: "-----BEGIN " + label + "-----".
	OfflineRequestLabel = "LICENSOR OFFLINE REQUEST"
	OfflineReturnLabel  = "LICENSOR OFFLINE RETURN"
	// OfflineNonceMinLen is the shortest nonce accepted (base64url of 16
	// random bytes is 22 characters).
	OfflineNonceMinLen = 22
	// OfflineNonceMaxLen bounds a nonce.
	OfflineNonceMaxLen = 128
	// FingerprintMaxLen bounds a machine fingerprint as sent.
	FingerprintMaxLen = 128
)

// Offline release reasons.
const (
	OfflineReleaseReturned = "returned" // the machine's signed return proof
	OfflineReleaseForced   = "forced"   // an administrator's forced release, audited
)

// JWK is an Ed25519 public key as a JSON Web Key (RFC 8037): kty OKP, crv
// Ed25519, x the 32-byte key in base64url.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
}

// Confirmation is a license's "cnf" claim (RFC 7800): the key the holder
// must prove it has, named by its JWK SHA-256 thumbprint (RFC 7638).
type Confirmation struct {
	JKT string `json:"jkt"`
}

// OfflineRequest is what a request file says, signed by the key it carries.
type OfflineRequest struct {
	Tenant      string `json:"iss,omitempty"` // tenant id, when the machine knows it
	Instance    string `json:"sub"`
	Contract    string `json:"contract"`
	Product     string `json:"product"`     // the fingerprint's salt; must be the contract's product
	Fingerprint string `json:"fingerprint"` // salted machine fingerprint, never the raw id
	Key         JWK    `json:"jwk"`
	Nonce       string `json:"nonce"`
	IssuedAt    int64  `json:"iat"`
}

// Validate checks that the request is complete and its fields are in range.
func (r *OfflineRequest) Validate() error {
	if err := ValidateID("request contract", r.Contract); err != nil {
		return err
	}
	if r.Product == "" {
		return Errorf(EINVALID, "offline request names no product: create it with the contract's product id (--product)")
	}
	if err := ValidateID("request product", r.Product); err != nil {
		return err
	}
	if _, err := NormalizeID("request instance", r.Instance); err != nil {
		return err
	}
	if r.Tenant != "" {
		if err := ValidateID("request tenant", r.Tenant); err != nil {
			return err
		}
	}
	if err := validateToken("request fingerprint", r.Fingerprint, 16, FingerprintMaxLen); err != nil {
		return err
	}
	if err := validateToken("request nonce", r.Nonce, OfflineNonceMinLen, OfflineNonceMaxLen); err != nil {
		return err
	}
	if r.IssuedAt <= 0 {
		return Errorf(EINVALID, "offline request has no iat")
	}
	return nil
}

// OfflineReturn is what a return file says, signed by the instance key the
// license is bound to: the machine deleted license ID.
type OfflineReturn struct {
	LicenseID string `json:"jti"`
	Instance  string `json:"sub"`
	Contract  string `json:"contract"`
	IssuedAt  int64  `json:"iat"`
}

// Validate checks that the return names a license, instance and contract.
func (r *OfflineReturn) Validate() error {
	if err := ValidateID("return license id", r.LicenseID); err != nil {
		return err
	}
	if err := ValidateID("return contract", r.Contract); err != nil {
		return err
	}
	if _, err := NormalizeID("return instance", r.Instance); err != nil {
		return err
	}
	if r.IssuedAt <= 0 {
		return Errorf(EINVALID, "offline return has no iat")
	}
	return nil
}

// OfflineActivation is a license issued for an offline request, as the
// server keeps it: which key and machine it is bound to, the request's
// nonce (a request is answered once), and whether its seat is free again.
type OfflineActivation struct {
	TenantID    string
	LicenseID   string
	ContractID  string
	InstanceID  string
	KeyJKT      string // JWK thumbprint of the instance key
	PublicKey   string // the key's x, base64url
	Fingerprint string
	Nonce       string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	ReleasedAt  time.Time // zero while the license holds its seat
	Release     string    // OfflineReleaseReturned or OfflineReleaseForced once released
}

// OfflineStore keeps offline activations (tenant-scoped).
type OfflineStore interface {
	// CreateOfflineActivation records a and checks its instance in (in
	// takes a seat as Checkin does), in one transaction: ECONFLICT if the
	// tenant has already answered a request with a.Nonce (a replay),
	// EEXHAUSTED if no seat is free, with nothing changed either way.
	CreateOfflineActivation(ctx context.Context, a *OfflineActivation, in Checkin) (*Instance, error)
	// GetOfflineActivation returns one by license id. ENOTFOUND.
	GetOfflineActivation(ctx context.Context, licenseID string) (*OfflineActivation, error)
	// HeldOfflineActivation returns the newest activation of an instance
	// that still holds its seat. ENOTFOUND if none.
	HeldOfflineActivation(ctx context.Context, contractID, instanceID string) (*OfflineActivation, error)
	// ReleaseOfflineActivation marks the activation released at `at` for
	// reason and frees the seat its instance holds, in one transaction.
	// ENOTFOUND; EPRECONDITION if it was already released.
	ReleaseOfflineActivation(ctx context.Context, licenseID, reason string, at time.Time) (*OfflineActivation, error)
}

// ValidateFingerprint checks a machine fingerprint as sent: base64url, 16
// to FingerprintMaxLen characters.
func ValidateFingerprint(s string) error {
	return validateToken("fingerprint", s, 16, FingerprintMaxLen)
}

// validateToken checks an opaque base64url-ish value: printable ASCII
// letters, digits, '-' and '_' only, between min and max bytes.
func validateToken(field, s string, min, max int) error {
	if len(s) < min || len(s) > max {
		return Errorf(EINVALID, "%s must be %d to %d characters, got %d", field, min, max, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return Errorf(EINVALID, "%s has %q at offset %d: use base64url characters only", field, rune(c), i)
		}
	}
	return nil
}
