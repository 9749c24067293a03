package licensor

import "time"

// Tenant defaults.
const (
	DefaultConcurrencyLimit = 60
	DefaultExpiryWarning    = 7 * 24 * time.Hour
	MaxConcurrencyLimit     = 100000
	MaxQueueWait            = 5 * time.Second
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
	if t.ExpiryWarning == 0 {
		t.ExpiryWarning = DefaultExpiryWarning
	}
	if err := ValidateDuration("expiry warning", t.ExpiryWarning, time.Hour, 90*24*time.Hour); err != nil {
		return err
	}
	return t.validateTelemetrySettings()
}
