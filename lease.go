package licensor

import (
	"context"
	"sort"
	"time"
)

// IdempotencyWindow is how long the first answer to a capability request
// is kept for retries of the same request id.
const IdempotencyWindow = 24 * time.Hour

// Units is a number of units of one feature.
type Units struct {
	Feature string
	Units   int64
}

// NormalizeUnits checks what a caller asks for or gives back — known-good
// feature names, each once, counts from 1 to MaxRequestUnits — and returns
// a sorted copy. An empty list is EINVALID unless allowEmpty.
func NormalizeUnits(us []Units, allowEmpty bool) ([]Units, error) {
	if len(us) == 0 && !allowEmpty {
		return nil, Errorf(EINVALID, "ask for at least one feature, e.g. solver=1")
	}
	if len(us) > MaxFeatures {
		return nil, Errorf(EINVALID, "%d features in one request; the limit is %d", len(us), MaxFeatures)
	}
	out := make([]Units, len(us))
	copy(out, us)
	seen := make(map[string]bool, len(us))
	for _, u := range out {
		if err := ValidateKey("feature name", u.Feature); err != nil {
			return nil, err
		}
		if seen[u.Feature] {
			return nil, Errorf(EINVALID, "feature %q is listed twice; list each feature once with the total units", u.Feature)
		}
		seen[u.Feature] = true
		if u.Units < 1 || u.Units > MaxRequestUnits {
			return nil, Errorf(EINVALID, "feature %q: %d units; ask for between 1 and %d", u.Feature, u.Units, MaxRequestUnits)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Feature < out[j].Feature })
	return out, nil
}

// Lease is units of a pool's features held by one instance until ExpiresAt,
// unless returned earlier.
type Lease struct {
	ID         string
	TenantID   string
	PoolID     string
	ContractID string
	InstanceID string
	Units      []Units // sorted by feature; every count > 0
	// Overage is, per feature, how many of Units were granted beyond the
	// pool's MaxUnits (from its overdraft): sorted, only counts > 0, never
	// more than the lease holds.
	Overage []Units
	// Borrowed leases are long (for going offline): they are never renewed
	// or reclaimed early, but end at their expiry like any other.
	Borrowed  bool
	CreatedAt time.Time
	RenewedAt time.Time // CreatedAt until the first renewal
	ExpiresAt time.Time
}

// UnitsOf returns the units of feature the lease holds.
func (l *Lease) UnitsOf(feature string) int64 {
	for _, u := range l.Units {
		if u.Feature == feature {
			return u.Units
		}
	}
	return 0
}

// Shortage says why a capability request was not granted in full.
type Shortage struct {
	Feature   string
	Requested int64
	Available int64
	Short     int64
	// NextRelease is when the soonest lease holding this feature ends; zero
	// if none does.
	NextRelease time.Time
	// Queued is set when the units are free but promised to requests
	// waiting ahead in the pool's queue.
	Queued bool `json:",omitempty"`
}

// Take is one capability request as the store executes it, in one
// transaction: the units are taken only if the pool's limit allows it
// (all-or-nothing unless AllowPartial), or not at all.
type Take struct {
	PoolID     string
	ContractID string
	InstanceID string
	Units      []Units // normalized (NormalizeUnits)
	// AllowPartial grants what is free of each feature when not all is.
	AllowPartial bool
	// Preview answers exactly as a real request would and takes nothing.
	Preview  bool
	Borrowed bool
	// LeaseID is the id of the lease a grant creates.
	LeaseID   string
	Now       time.Time
	ExpiresAt time.Time
	// RequestID, if set, makes the request idempotent: the first answer is
	// kept (with Fingerprint, a digest of what was asked) and a retry gets
	// it back without taking anything.
	RequestID   string
	Fingerprint string
	// WaiterSeq and WaiterID, if set, are the waiter this take serves
	// (see Waiter): it is granted only if no live waiter with a lower Seq
	// is waiting, and a grant removes it from the queue in the same
	// transaction. A take of no waiter is behind every live waiter.
	WaiterSeq int64
	WaiterID  string
	// Express passes the waiters of the pool (an express pool: a request
	// that fits now is granted).
	Express bool
	// Reservations, set when the pool has any, makes the take leave the
	// unused units reserved for other instances free.
	Reservations bool
}

// TakeResult is the answer to a Take.
type TakeResult struct {
	Granted   bool
	Lease     *Lease // set when granted and not a preview
	Shortages []Shortage
	// Replayed is set when this is the stored answer to an earlier request
	// with the same request id.
	Replayed bool
}

// LeaseReturn gives back some (or, with no Units, all) units of a lease.
type LeaseReturn struct {
	LeaseID    string
	ContractID string
	InstanceID string
	Units      []Units // normalized; empty returns the whole lease
	Now        time.Time
}

// LeaseRenewal extends a live lease by its pool's TTL.
type LeaseRenewal struct {
	LeaseID    string
	ContractID string
	InstanceID string
	Now        time.Time
	// NotAfter, if set, caps the renewed expiry (the contract's end): a
	// renewal never carries a lease past it, though it never shortens one
	// either.
	NotAfter time.Time
}

// LeaseFilter selects leases of a tenant.
type LeaseFilter struct {
	PoolID     string
	ContractID string
	InstanceID string // only with ContractID
	ListOptions
}

// CapabilityClaims are the contents of a signed capability document (a JWS
// of typ capability+jwt): what was granted to whom until when, verifiable
// offline with the tenant's JWKS.
type CapabilityClaims struct {
	Issuer    string           `json:"iss"` // tenant id
	Subject   string           `json:"sub"` // instance id
	ID        string           `json:"jti"` // lease id
	IssuedAt  int64            `json:"iat"`
	NotBefore int64            `json:"nbf"`
	Expiry    int64            `json:"exp"`
	Contract  string           `json:"contract"`
	Pool      string           `json:"pool"`
	Units     map[string]int64 `json:"units"`
	Borrowed  bool             `json:"borrowed,omitempty"`
	// Overage is, per feature, how many of Units are beyond the pool's
	// size (its overdraft); absent when none are.
	Overage map[string]int64 `json:"overage,omitempty"`
}

// LeaseStore keeps leases. Units are taken and given back in the same
// transaction as the lease row that holds them, so a pool's InUse always
// equals the sum of its live leases.
type LeaseStore interface {
	// TakeCapabilities executes t (see Take). Expired leases never cause
	// a denial: if the pool is short, its expired leases are freed (with
	// their expire events) and the request is decided again, in the same
	// transaction. A feature the pool does not have is EINVALID,
	// an unknown pool ENOTFOUND; a request id reused for a different
	// request (another Fingerprint) is ECONFLICT. A denial is not an error:
	// Granted is false and Shortages say what is short.
	TakeCapabilities(ctx context.Context, t Take) (*TakeResult, error)
	// ReturnCapabilities gives units back and returns what is left of the
	// lease (nil when nothing is). A lease of another contract or instance
	// is ENOTFOUND; more units than held, or a feature the lease does not
	// hold, is EINVALID; an expired lease is EPRECONDITION (its units are
	// back in the pool). waiting is false only when the store saw, under
	// the pool's lock, that no request waited in the pool's queue when the
	// units came back: a request that joins the queue later tries again
	// once it has joined and finds them, so nothing need wake the queue.
	ReturnCapabilities(ctx context.Context, r LeaseReturn) (left *Lease, waiting bool, err error)
	// RenewLease sets the lease's expiry to Now plus its pool's TTL (never
	// earlier than it was). ENOTFOUND as above; an expired lease is
	// EPRECONDITION.
	RenewLease(ctx context.Context, r LeaseRenewal) (*Lease, error)
	// GetLease returns one lease. ENOTFOUND.
	GetLease(ctx context.Context, id string) (*Lease, error)
	// ListLeases lists live and not yet reaped leases by id.
	ListLeases(ctx context.Context, f LeaseFilter) ([]*Lease, error)
	// ReleaseLease ends a lease at once (an administrator's force-release).
	// ENOTFOUND.
	ReleaseLease(ctx context.Context, id string, now time.Time) error
	// ExpireLeases frees up to limit leases that expired at or before now,
	// in every tenant (or only the scoped one, if ctx has a scope), and
	// forgets idempotency records older than IdempotencyWindow. Each lease
	// is freed by one conditional delete, so several servers running it at
	// once never free a lease twice. It returns how many it freed.
	ExpireLeases(ctx context.Context, now time.Time, limit int) (int, error)
}
