package licensor

import "time"

// Tenant defaults and bounds.
//
// A tenant's own admin may set its concurrency limit and queue wait only up
// to the tenant's ceilings (ConcurrencyCeiling, QueueWaitCeiling), which
// only the operator sets: on a server shared by several tenants, one
// tenant's surge must not take the slots and time of the others. The
// default ceilings are exactly the defaults a tenant starts with, so a
// tenant gets more only when the operator, who knows how many tenants share
// the server and what it can carry, decides so. MaxConcurrencyLimit and
// MaxQueueWait bound what even the operator may set.
const (
	DefaultConcurrencyLimit   = 60
	DefaultConcurrencyCeiling = DefaultConcurrencyLimit
	DefaultQueueWaitCeiling   = time.Second
	DefaultExpiryWarning      = 7 * 24 * time.Hour
	MaxConcurrencyLimit       = 100000
	MaxQueueWait              = 5 * time.Second
)

// Tenant is a software vendor using the server. It owns keys, products,
// customers and contracts, and sees nothing of any other tenant.
type Tenant struct {
	ID   string
	Name string
	// ConcurrencyLimit is how many of this tenant's requests may be in flight
	// at once; above it a request is refused with EEXHAUSTED and a retry hint.
	ConcurrencyLimit int
	// QueueWait, if non-zero, lets a request over the limit wait this long for
	// a slot before being refused.
	QueueWait time.Duration
	// ConcurrencyCeiling and QueueWaitCeiling are the most ConcurrencyLimit
	// and QueueWait may be; only the operator sets them. Zero: the default
	// ceiling, or the limit (wait) itself if that is higher, so that an
	// operator creating a tenant with a high limit need not also name its
	// ceiling.
	ConcurrencyCeiling int
	QueueWaitCeiling   time.Duration
	// ExpiryWarning is how long before a license or contract runs out the
	// vendor is warned (webhook, metric).
	ExpiryWarning time.Duration
	// TelemetryRetention is how long telemetry history is kept (0: the
	// default, 90 days); TelemetryFieldsDropped names the telemetry fields
	// (TelemetryFields) never stored; TruncateIPs keeps only /24 of IPv4 and
	// /48 of IPv6 addresses in telemetry and instances' peer addresses.
	TelemetryRetention     time.Duration
	TelemetryFieldsDropped []string
	TruncateIPs            bool
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// Validate checks a tenant before it is stored and fills defaults.
func (t *Tenant) Validate() error {
	if err := ValidateName("tenant name", t.Name); err != nil {
		return err
	}
	if t.ConcurrencyLimit == 0 {
		t.ConcurrencyLimit = DefaultConcurrencyLimit
	}
	if t.ConcurrencyLimit < 1 || t.ConcurrencyLimit > MaxConcurrencyLimit {
		return Errorf(EINVALID, "concurrency limit is %d; it must be between 1 and %d", t.ConcurrencyLimit, MaxConcurrencyLimit)
	}
	if err := ValidateDuration("queue wait", t.QueueWait, 0, MaxQueueWait); err != nil {
		return err
	}
	if t.ConcurrencyCeiling == 0 {
		t.ConcurrencyCeiling = max(DefaultConcurrencyCeiling, t.ConcurrencyLimit)
	}
	if t.ConcurrencyCeiling < 1 || t.ConcurrencyCeiling > MaxConcurrencyLimit {
		return Errorf(EINVALID, "concurrency ceiling is %d; it must be between 1 and %d", t.ConcurrencyCeiling, MaxConcurrencyLimit)
	}
	if t.ConcurrencyLimit > t.ConcurrencyCeiling {
		return Errorf(EINVALID, "concurrency limit %d is above the tenant's ceiling of %d; raise the ceiling too", t.ConcurrencyLimit, t.ConcurrencyCeiling)
	}
	if t.QueueWaitCeiling == 0 {
		t.QueueWaitCeiling = max(DefaultQueueWaitCeiling, t.QueueWait)
	}
	if err := ValidateDuration("queue wait ceiling", t.QueueWaitCeiling, time.Millisecond, MaxQueueWait); err != nil {
		return err
	}
	if t.QueueWait > t.QueueWaitCeiling {
		return Errorf(EINVALID, "queue wait %s is above the tenant's ceiling of %s; raise the ceiling too", t.QueueWait, t.QueueWaitCeiling)
	}
	if t.ExpiryWarning == 0 {
		t.ExpiryWarning = DefaultExpiryWarning
	}
	if err := ValidateDuration("expiry warning", t.ExpiryWarning, time.Hour, 90*24*time.Hour); err != nil {
		return err
	}
	return t.validateTelemetrySettings()
}

// ClampToCeilings lowers the concurrency limit and queue wait to the
// ceilings where they are above them: what an operator lowering a ceiling
// means for the tenant's current settings.
func (t *Tenant) ClampToCeilings() {
	if t.ConcurrencyCeiling > 0 && t.ConcurrencyLimit > t.ConcurrencyCeiling {
		t.ConcurrencyLimit = t.ConcurrencyCeiling
	}
	if t.QueueWaitCeiling > 0 && t.QueueWait > t.QueueWaitCeiling {
		t.QueueWait = t.QueueWaitCeiling
	}
}
