package licensor

import (
	"slices"
	"sort"
	"time"
)

// Contract defaults and bounds.
const (
	DefaultLicenseValidity = 14 * 24 * time.Hour
	DefaultRefreshInterval = 2 * time.Hour
	DefaultMaxBorrow       = 7 * 24 * time.Hour
	MinLicenseValidity     = time.Hour
	MaxLicenseValidity     = 366 * 24 * time.Hour
	MinRefreshInterval     = time.Minute
)

// ContractStatus is where a contract is in its life. A contract stores
// active, suspended or ended (what an admin last decided); what a caller
// sees is StatusAt the current time, which also knows the calendar: a
// contract past its end is ended, one whose start is ahead is scheduled.
type ContractStatus string

const (
	ContractActive    ContractStatus = "active"
	ContractSuspended ContractStatus = "suspended"
	ContractEnded     ContractStatus = "ended"
	// ContractScheduled is never stored: it is how an active contract
	// whose start is still ahead is shown (and filtered).
	ContractScheduled ContractStatus = "scheduled"
)

// ContractStatuses are the statuses a caller sees and may filter by.
var ContractStatuses = []ContractStatus{ContractScheduled, ContractActive, ContractSuspended, ContractEnded}

// ParseContractStatus checks a status filter a caller sent: empty (any) or
// one of ContractStatuses. EINVALID names the accepted values.
func ParseContractStatus(s string) (ContractStatus, error) {
	if s == "" || slices.Contains(ContractStatuses, ContractStatus(s)) {
		return ContractStatus(s), nil
	}
	return "", Errorf(EINVALID, "contract status %q: use scheduled, active, suspended or ended", truncate(s, MaxFeatureNameLen))
}

// SeatRule says what a seat of a contract is.
type SeatRule string

const (
	SeatInstance      SeatRule = "instance"       // each distinct instance id takes a seat
	SeatProductionURL SeatRule = "production_url" // each distinct production origin takes a seat
)

// FallbackRule says what happens after a contract ends.
type FallbackRule string

const (
	FallbackNone      FallbackRule = "none"      // an ended contract gets no license
	FallbackPerpetual FallbackRule = "perpetual" // releases published before the end stay licensed
)

// Entitlement is one feature a contract grants: on (boolean) or a count.
type Entitlement struct {
	Feature string
	Kind    FeatureKind
	Count   int64 // for FeatureCounted; 0 for FeatureBoolean
}

// Contract is a customer's entitlement to a product.
type Contract struct {
	ID         string
	TenantID   string
	CustomerID string
	ProductID  string
	Name       string
	Status     ContractStatus
	StartsAt   time.Time
	EndsAt     time.Time // zero: no end
	Features   []Entitlement

	LicenseValidity time.Duration
	RefreshInterval time.Duration
	SeatRule        SeatRule
	MaxSeats        int // 0: unlimited
	SeatsUsed       int // maintained by the store
	// MaxNonProductionURLs caps the non-production URLs of a
	// production-URL contract: staging, development and test instances
	// take no seat, and without a cap a customer could run any number of
	// them. 0: unlimited. NonProductionURLsUsed is how many instances hold
	// a non-production slot, maintained by the store like SeatsUsed.
	MaxNonProductionURLs  int
	NonProductionURLsUsed int
	Fallback              FallbackRule
	MaxBorrow             time.Duration
	// ClientCAPEM, when set, requires instances to present a TLS client
	// certificate issued by this CA.
	ClientCAPEM string
	// Metadata is the vendor's own data about the contract; it never
	// reaches a license.
	Metadata Metadata
	// RefuseClones refuses a check-in of an instance id from another
	// machine (fingerprint) than the one it checked in from within the
	// refresh interval (EPRECONDITION); without it such a check-in is only
	// flagged (Instance.CloneSuspectedAt, the instance.cloned alert).
	RefuseClones bool

	// Version increases with every change; licenses carry it so a client can
	// tell a fresh license from a re-issue of the same terms.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks a contract before it is stored and fills defaults.
func (c *Contract) Validate() error {
	if err := ValidateID("customer_id", c.CustomerID); err != nil {
		return err
	}
	if err := ValidateID("product_id", c.ProductID); err != nil {
		return err
	}
	if c.Name != "" {
		if err := ValidateName("contract name", c.Name); err != nil {
			return err
		}
	}
	if err := ValidateMetadata("contract", c.Metadata); err != nil {
		return err
	}
	if c.Status == "" {
		c.Status = ContractActive
	}
	switch c.Status {
	case ContractActive, ContractSuspended, ContractEnded:
	default:
		return Errorf(EINVALID, "contract status %q: use active, suspended or ended", c.Status)
	}
	if c.StartsAt.IsZero() {
		return Errorf(EINVALID, "contract start is required")
	}
	// An ended contract may end the moment it started (ended at once).
	if !c.EndsAt.IsZero() && (c.EndsAt.Before(c.StartsAt) || (c.EndsAt.Equal(c.StartsAt) && c.Status != ContractEnded)) {
		return Errorf(EINVALID, "contract end (%s) must be after its start (%s)", c.EndsAt.UTC().Format(time.RFC3339), c.StartsAt.UTC().Format(time.RFC3339))
	}
	if c.LicenseValidity == 0 {
		c.LicenseValidity = DefaultLicenseValidity
	}
	if err := ValidateDuration("license validity", c.LicenseValidity, MinLicenseValidity, MaxLicenseValidity); err != nil {
		return err
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if err := ValidateDuration("refresh interval", c.RefreshInterval, MinRefreshInterval, c.LicenseValidity/2); err != nil {
		return err
	}
	if c.SeatRule == "" {
		c.SeatRule = SeatInstance
	}
	if c.SeatRule != SeatInstance && c.SeatRule != SeatProductionURL {
		return Errorf(EINVALID, "seat rule %q: use %q or %q", c.SeatRule, SeatInstance, SeatProductionURL)
	}
	if c.MaxSeats < 0 || c.MaxSeats > 10_000_000 {
		return Errorf(EINVALID, "max seats is %d; it must be between 0 (unlimited) and 10000000", c.MaxSeats)
	}
	if c.MaxNonProductionURLs < 0 || c.MaxNonProductionURLs > 10_000_000 {
		return Errorf(EINVALID, "max non-production URLs is %d; it must be between 0 (unlimited) and 10000000", c.MaxNonProductionURLs)
	}
	if c.MaxNonProductionURLs != 0 && c.SeatRule != SeatProductionURL {
		return Errorf(EINVALID, "max non-production URLs applies to the %q seat rule only (under %q every instance takes a seat): leave it 0", SeatProductionURL, c.SeatRule)
	}
	if c.Fallback == "" {
		c.Fallback = FallbackNone
	}
	if c.Fallback != FallbackNone && c.Fallback != FallbackPerpetual {
		return Errorf(EINVALID, "fallback rule %q: use %q or %q", c.Fallback, FallbackNone, FallbackPerpetual)
	}
	if c.MaxBorrow == 0 {
		c.MaxBorrow = DefaultMaxBorrow
	}
	if err := ValidateDuration("max borrow", c.MaxBorrow, time.Minute, MaxLicenseValidity); err != nil {
		return err
	}
	if len(c.Features) > MaxFeatures {
		return Errorf(EINVALID, "contract has %d features; the limit is %d", len(c.Features), MaxFeatures)
	}
	seen := make(map[string]bool, len(c.Features))
	for _, e := range c.Features {
		if err := ValidateKey("feature name", e.Feature); err != nil {
			return err
		}
		if seen[e.Feature] {
			return Errorf(EINVALID, "feature %q is listed twice", e.Feature)
		}
		seen[e.Feature] = true
		if e.Count < 0 || e.Count > 1_000_000_000 {
			return Errorf(EINVALID, "feature %q count is %d; it must be between 0 and 1000000000", e.Feature, e.Count)
		}
	}
	sort.Slice(c.Features, func(i, j int) bool { return c.Features[i].Feature < c.Features[j].Feature })
	return nil
}

// StatusAt is the status of c as a caller sees it at now: ended once it
// was ended or its end has come (EndsAt <= now), else suspended if an admin
// suspended it, else scheduled while its start is ahead, else active. It is
// what every listing shows and what a status filter selects.
func (c *Contract) StatusAt(now time.Time) ContractStatus {
	switch {
	case c.Ended(now):
		return ContractEnded
	case c.Status == ContractSuspended:
		return ContractSuspended
	case now.Before(c.StartsAt):
		return ContractScheduled
	}
	return ContractActive
}

// Ended reports whether the contract no longer licenses anything new at now:
// ended explicitly, or past its end date.
func (c *Contract) Ended(now time.Time) bool {
	return c.Status == ContractEnded || (!c.EndsAt.IsZero() && !now.Before(c.EndsAt))
}

// LicenseTerms is what the next license of a contract says, decided at now.
type LicenseTerms struct {
	NotBefore      time.Time
	Expiry         time.Time
	RefreshAfter   time.Duration
	Fallback       bool      // the contract ended; only earlier releases are licensed
	FallbackCutoff time.Time // set when Fallback
}

// Terms decides the window of the next license at now. It refuses a
// suspended contract, a contract not yet started, and an ended one without a
// perpetual fallback, with EFORBIDDEN. A license never runs past the
// contract's end.
func (c *Contract) Terms(now time.Time) (LicenseTerms, error) {
	switch {
	case c.Status == ContractSuspended:
		return LicenseTerms{}, Errorf(EFORBIDDEN, "contract %s is suspended", c.ID)
	case now.Before(c.StartsAt):
		return LicenseTerms{}, Errorf(EFORBIDDEN, "contract %s starts at %s", c.ID, c.StartsAt.UTC().Format(time.RFC3339))
	}
	t := LicenseTerms{NotBefore: now, Expiry: now.Add(c.LicenseValidity), RefreshAfter: c.RefreshInterval}
	if c.Ended(now) {
		if c.Fallback != FallbackPerpetual {
			return LicenseTerms{}, Errorf(EFORBIDDEN, "contract %s has ended", c.ID)
		}
		t.Fallback = true
		// Ending a contract sets EndsAt to the moment it ended, so the cutoff
		// is always its end.
		t.FallbackCutoff = c.EndsAt
		return t, nil
	}
	if !c.EndsAt.IsZero() && t.Expiry.After(c.EndsAt) {
		t.Expiry = c.EndsAt
	}
	return t, nil
}

// FeatureClaims renders the entitlements as they appear in a license:
// name → count for counted features, name → true for boolean ones.
func (c *Contract) FeatureClaims() map[string]any {
	m := make(map[string]any, len(c.Features))
	for _, e := range c.Features {
		if e.Kind == FeatureCounted {
			m[e.Feature] = e.Count
		} else {
			m[e.Feature] = true
		}
	}
	return m
}
