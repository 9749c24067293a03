package licensor

import "time"

// Instance is one running deployment, device or production URL under a
// contract, as the server last saw it.
type Instance struct {
	TenantID   string
	ContractID string
	ID         string // chosen by the product (or a normalized origin for URL seats)
	// Seat reports whether the instance holds one of the contract's seats;
	// development and staging instances of a URL-seat contract hold none.
	Seat bool
	// NonProductionSlot reports whether the instance holds one of the
	// contract's non-production slots (MaxNonProductionURLs): a
	// non-production instance of a URL-seat contract that holds no seat.
	// An instance holds at most one of a seat and a slot.
	NonProductionSlot bool
	Environment       string
	Host              string // host name reported by the client, for clone detection
	RemoteAddr        string
	FirstSeenAt       time.Time
	LastSeenAt        time.Time
	LicenseID         string    // jti of the last license issued
	LicenseExpiresAt  time.Time // exp of the last license issued
	// CloneSuspectedAt is set when the same instance id was seen from two
	// hosts, or two machines (fingerprints), within one refresh interval.
	CloneSuspectedAt time.Time
	// Fingerprint is the salted machine fingerprint the instance last
	// reported ("" if it reports none).
	Fingerprint string
	// Telemetry is the latest the instance reported (as the tenant keeps
	// it), nil if none or pruned; TelemetryAt is when it was reported.
	Telemetry   *Telemetry
	TelemetryAt time.Time
}

// Checkin is what GetLicense records about an instance in one atomic step:
// it takes a seat for a new instance when the contract has one free, and
// refreshes an existing instance without counting it again.
type Checkin struct {
	ContractID string
	InstanceID string
	// TakesSeat: the instance counts against the contract's seats. A
	// check-in that takes no seat is a non-production instance of a
	// production-URL contract (the only kind that takes none): a new one
	// takes a non-production slot instead, if the contract has one free.
	TakesSeat   bool
	Environment string
	Host        string
	// Fingerprint is the instance's salted machine fingerprint, if it
	// reports one (client.Fingerprint): for clone detection.
	Fingerprint      string
	RemoteAddr       string
	Now              time.Time
	LicenseID        string
	LicenseExpiresAt time.Time
	// CloneWindow: a different Host or Fingerprint within this long of the
	// last check-in flags the instance as a suspected clone.
	CloneWindow time.Duration
	// Telemetry, if set, becomes the instance's latest and a point of its
	// history at Now, in the same transaction; nil keeps the latest as is.
	Telemetry *Telemetry
}

// InstanceFilter selects instances of a tenant.
type InstanceFilter struct {
	ContractID string
	// SeatHolders lists only instances that hold a seat.
	SeatHolders bool
	ListOptions
}

// Cursor returns the paging cursor that follows i in a listing: the
// instance id within one contract's listing, "contract instance" across
// contracts (an instance id is unique only within its contract).
func (i *Instance) Cursor(withinContract bool) string {
	if withinContract {
		return i.ID
	}
	return i.ContractID + " " + i.ID
}
