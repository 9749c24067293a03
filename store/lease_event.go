package store

import "github.com/licensor/licensor"

// leaseEvent is a usage event about to be written in a lease's transaction:
// Kind, for Units of Feature of pool Pool, at At (Unix microseconds, as the
// stores keep time), by lease Lease of Contract's Instance (no lease for a
// denial). The store writes it with lease_usage.go's statements.
type leaseEvent struct {
	Kind                      licensor.UsageKind
	Pool, Feature             string
	Units                     int64
	At                        int64
	Lease, Contract, Instance string
}
