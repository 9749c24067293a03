package licensor

import (
	"encoding/json"
	"fmt"
	"time"
)

// License format constants: fixed, because outside tools verify licenses.
const (
	LicenseAlg       = "EdDSA"
	LicenseType      = "license+jwt"
	CapabilityType   = "capability+jwt"
	ArmorBegin       = "-----BEGIN LICENSOR LICENSE-----"
	ArmorEnd         = "-----END LICENSOR LICENSE-----"
	LicenseKindLive  = "online" // issued by GetLicense, refreshed
	LicenseKindFile  = "static" // a static license file issued offline
	JWKSPath         = "/.well-known/jwks.json"
	DefaultClockSkew = 2 * time.Minute
)

// Claims are the contents of a license. JSON names are fixed by the format;
// times are NumericDate (seconds since the epoch).
type Claims struct {
	Issuer    string `json:"iss"` // tenant id
	Subject   string `json:"sub"` // instance id
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`

	Contract        string         `json:"contract"`
	Customer        string         `json:"customer"`
	Product         string         `json:"product,omitempty"`
	Features        map[string]any `json:"features"`
	RefreshAfter    int64          `json:"refresh_after"` // seconds
	FallbackRule    FallbackRule   `json:"fallback"`
	FallbackCutoff  int64          `json:"fallback_cutoff,omitempty"` // set only on a fallback license
	Kind            string         `json:"kind"`                      // online or static
	ContractVersion int64          `json:"contract_version,omitempty"`
	// Environment is the environment the license is for: production,
	// staging, development or test. Every license the server issues names
	// one (an instance that reported none is production, as it takes a
	// seat as production). A static license file names one only if the
	// vendor set it; empty means unrestricted, as do licenses issued before
	// the claim existed. See Production.
	Environment string `json:"environment,omitempty"`
	// Seat says whether the instance holds one of the contract's seats:
	// false for a non-production instance under the production-URL seat
	// rule. Set on every license the server issues; nil on static license
	// files and older licenses.
	Seat *bool `json:"seat,omitempty"`
	// Confirmation binds a license issued for an offline request to the
	// requesting machine's instance key (RFC 7800 "cnf", by JWK
	// thumbprint); Fingerprint names the machine (salted, never its raw
	// id). Both are set together, only on such licenses: a verifier that
	// knows them refuses the license on another machine or without the key.
	Confirmation *Confirmation `json:"cnf,omitempty"`
	Fingerprint  string        `json:"fingerprint,omitempty"`
}

// Bound reports whether the license is bound to an instance key and a
// machine (a license issued for an offline request).
func (c *Claims) Bound() bool { return c.Confirmation != nil }

// Production reports whether the license may serve production: its
// environment is production or unrestricted (empty). Any other value,
// including one this version does not know, is not production, so a
// product that degrades itself outside production fails closed.
func (c *Claims) Production() bool {
	return c.Environment == "" || c.Environment == EnvProduction
}

// HoldsSeat reports the seat claim: whether the instance holds a seat, and
// whether the license says at all (static files and older licenses do not).
func (c *Claims) HoldsSeat() (seat, known bool) {
	if c.Seat == nil {
		return false, false
	}
	return *c.Seat, true
}

// IsFallback reports whether this license only covers releases published up
// to FallbackCutoff.
func (c *Claims) IsFallback() bool { return c.FallbackCutoff != 0 }

// ExpiresAt, NotBeforeTime and IssuedAtTime return the NumericDates as times.
func (c *Claims) ExpiresAt() time.Time     { return time.Unix(c.Expiry, 0) }
func (c *Claims) NotBeforeTime() time.Time { return time.Unix(c.NotBefore, 0) }
func (c *Claims) IssuedAtTime() time.Time  { return time.Unix(c.IssuedAt, 0) }

// Allowed reports whether the license grants feature at all.
func (c *Claims) Allowed(feature string) bool {
	v, ok := c.Features[feature]
	if !ok {
		return false
	}
	switch x := v.(type) {
	case bool:
		return x
	default:
		n, ok := featureCount(v)
		return ok && n > 0
	}
}

// Count returns the count granted for feature: the count of a counted
// feature, 1 for an enabled boolean one, 0 otherwise.
func (c *Claims) Count(feature string) int64 {
	v, ok := c.Features[feature]
	if !ok {
		return 0
	}
	if b, ok := v.(bool); ok {
		if b {
			return 1
		}
		return 0
	}
	n, _ := featureCount(v)
	return n
}

func featureCount(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		return int64(x), x == float64(int64(x))
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}

// Permits reports whether a release published at release is licensed: any
// release while the license is not a fallback, and only releases published
// on or before the cutoff when it is.
func (c *Claims) Permits(release time.Time) bool {
	if !c.IsFallback() {
		return true
	}
	return !release.After(time.Unix(c.FallbackCutoff, 0))
}

// CheckTime checks nbf and exp against now with the given skew.
func (c *Claims) CheckTime(now time.Time, skew time.Duration) error {
	if now.Add(skew).Before(time.Unix(c.NotBefore, 0)) {
		return Errorf(EINVALID, "license is not valid before %s", time.Unix(c.NotBefore, 0).UTC().Format(time.RFC3339))
	}
	if !now.Add(-skew).Before(time.Unix(c.Expiry, 0)) {
		return Errorf(EPRECONDITION, "license expired at %s", time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// Validate checks that the claims are complete and coherent: the checks a
// verifier makes after the signature, before trusting any field.
func (c *Claims) Validate() error {
	switch {
	case c.Issuer == "":
		return fmt.Errorf("license has no iss")
	case c.Subject == "":
		return fmt.Errorf("license has no sub")
	case c.Contract == "":
		return fmt.Errorf("license has no contract")
	case c.Expiry == 0 || c.NotBefore == 0 || c.IssuedAt == 0:
		return fmt.Errorf("license lacks iat, nbf or exp")
	case c.Expiry <= c.NotBefore:
		return fmt.Errorf("license exp is not after nbf")
	}
	return nil
}
