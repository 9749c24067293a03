package licensor

import (
	"context"
	"sort"
	"time"
)

// Pool defaults and bounds.
const (
	DefaultLeaseTTL = 15 * time.Minute
	MinLeaseTTL     = 10 * time.Second
	MaxLeaseTTL     = 24 * time.Hour
	// MaxPoolUnits bounds a pool feature's size and MaxRequestUnits what one
	// request may ask for, so that no sum of counts can overflow.
	MaxPoolUnits    = 1_000_000_000
	MaxRequestUnits = 1_000_000
)

// PoolFeature is one counted feature of a pool: at most MaxUnits in use at
// once. InUse is maintained by the store in the transactions that grant,
// return and expire leases.
type PoolFeature struct {
	Feature  string
	MaxUnits int64
	InUse    int64
	// Overdraft is how many units may be granted beyond MaxUnits (FlexNet's
	// overdraft): each is marked as overage in its lease and raises the
	// pool.overdraft alert. In a PoolResize, -1 keeps the feature's
	// overdraft as it is.
	Overdraft int64
	// Reserved is the units reserved for named instances (the sum of the
	// feature's Reservations; set by the store).
	Reserved int64
}

// Free returns the units that can still be granted within MaxUnits (0
// when a pool was shrunk below what is in use).
func (f PoolFeature) Free() int64 { return max(0, f.MaxUnits-f.InUse) }

// Overage returns the units in use beyond MaxUnits (drawn on the
// overdraft).
func (f PoolFeature) Overage() int64 { return max(0, f.InUse-f.MaxUnits) }

// KeepOverdraft in a PoolResize's feature keeps its overdraft.
const KeepOverdraft = -1

// Pool is a customer's counted features, lent to its devices as leases.
type Pool struct {
	ID         string
	TenantID   string
	CustomerID string
	// ContractID, if set, limits the pool to one contract's instances;
	// otherwise every contract of the customer draws from it.
	ContractID string
	Name       string
	Features   []PoolFeature // sorted by name
	// LeaseTTL is how long a lease lives without a renewal.
	LeaseTTL time.Duration
	// Express lets a request that fits now pass requests waiting in the
	// pool's queue (RLM's EXPRESS rule); otherwise the queue is strictly
	// first come, first served.
	Express   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks a pool before it is stored, fills defaults and sorts the
// features.
func (p *Pool) Validate() error {
	if err := ValidateID("customer_id", p.CustomerID); err != nil {
		return err
	}
	if p.ContractID != "" {
		if err := ValidateID("contract_id", p.ContractID); err != nil {
			return err
		}
	}
	if p.Name != "" {
		if err := ValidateName("pool name", p.Name); err != nil {
			return err
		}
	}
	if p.LeaseTTL == 0 {
		p.LeaseTTL = DefaultLeaseTTL
	}
	if err := ValidateDuration("lease TTL", p.LeaseTTL, MinLeaseTTL, MaxLeaseTTL); err != nil {
		return err
	}
	if len(p.Features) == 0 {
		return Errorf(EINVALID, "a pool needs at least one feature, e.g. solver=50")
	}
	return validatePoolFeatures(p.Features, false)
}

// PoolFeaturesOnce refuses a feature listed twice (EINVALID): which of the
// two limits to keep is not for the server to guess. The stores check it
// too, before any other check, so that their answer does not depend on
// what else is wrong with the request.
func PoolFeaturesOnce(fs []PoolFeature) error {
	seen := make(map[string]bool, len(fs))
	for _, f := range fs {
		if seen[f.Feature] {
			return Errorf(EINVALID, "feature %q is listed twice", f.Feature)
		}
		seen[f.Feature] = true
	}
	return nil
}

func validatePoolFeatures(fs []PoolFeature, resize bool) error {
	if len(fs) > MaxFeatures {
		return Errorf(EINVALID, "pool has %d features; the limit is %d", len(fs), MaxFeatures)
	}
	if err := PoolFeaturesOnce(fs); err != nil {
		return err
	}
	for _, f := range fs {
		if err := ValidateKey("feature name", f.Feature); err != nil {
			return err
		}
		if f.MaxUnits < 0 || f.MaxUnits > MaxPoolUnits {
			return Errorf(EINVALID, "feature %q max units is %d; it must be between 0 and %d", f.Feature, f.MaxUnits, MaxPoolUnits)
		}
		if (f.Overdraft < 0 && !(resize && f.Overdraft == KeepOverdraft)) || f.Overdraft > MaxPoolUnits {
			return Errorf(EINVALID, "feature %q overdraft is %d; it must be between 0 and %d", f.Feature, f.Overdraft, MaxPoolUnits)
		}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Feature < fs[j].Feature })
	return nil
}

// Feature returns the pool's feature named name.
func (p *Pool) Feature(name string) (PoolFeature, bool) {
	i := sort.Search(len(p.Features), func(i int) bool { return p.Features[i].Feature >= name })
	if i < len(p.Features) && p.Features[i].Feature == name {
		return p.Features[i], true
	}
	return PoolFeature{}, false
}

// Serves reports whether an instance of contract c may draw from the pool.
func (p *Pool) Serves(c *Contract) bool {
	return p.CustomerID == c.CustomerID && (p.ContractID == "" || p.ContractID == c.ID)
}

// PoolResize changes a pool: the listed features get a new MaxUnits (a new
// name is added), and LeaseTTL changes when non-zero. Shrinking below what
// is in use is allowed: leases run on, and nothing more is granted until
// enough come back.
type PoolResize struct {
	PoolID   string
	Features []PoolFeature // MaxUnits only
	LeaseTTL time.Duration
	// Express, if set, turns the express rule on or off.
	Express   *bool
	UpdatedAt time.Time
}

// Validate checks a resize.
func (r *PoolResize) Validate() error {
	if err := ValidateID("pool_id", r.PoolID); err != nil {
		return err
	}
	if r.LeaseTTL != 0 {
		if err := ValidateDuration("lease TTL", r.LeaseTTL, MinLeaseTTL, MaxLeaseTTL); err != nil {
			return err
		}
	}
	if len(r.Features) == 0 && r.LeaseTTL == 0 && r.Express == nil {
		return Errorf(EINVALID, "nothing to change: give features (name=max), a lease TTL or the express rule")
	}
	return validatePoolFeatures(r.Features, true)
}

// PoolFilter selects pools of a tenant.
type PoolFilter struct {
	CustomerID string
	ListOptions
}

// CapabilityStore keeps pools, leases and usage (tenant-scoped).
type CapabilityStore interface {
	PoolStore
	LeaseStore
	QueueStore
	ReservationStore
	UsageStore
}

// PoolStore keeps pools.
type PoolStore interface {
	// CreatePool stores p with nothing in use. EINVALID for a feature
	// listed twice (before anything else is checked); ENOTFOUND for an
	// unknown customer or contract; ECONFLICT on a duplicate id.
	CreatePool(ctx context.Context, p *Pool) error
	// GetPool returns a pool with its features and what is in use. ENOTFOUND.
	GetPool(ctx context.Context, id string) (*Pool, error)
	// ListPools lists pools by id, optionally of one customer.
	ListPools(ctx context.Context, f PoolFilter) ([]*Pool, error)
	// ResizePool applies r and returns the pool after it. EINVALID for a
	// feature listed twice; ENOTFOUND.
	ResizePool(ctx context.Context, r PoolResize) (*Pool, error)
}
