package lease

import "github.com/licensor/licensor"

// Event is a usage event about to be written in a lease's transaction:
// Kind, for Units of Feature of pool Pool, at At (Unix microseconds, as the
// stores keep time), by lease Lease of Contract's Instance (no lease for a
// denial). Each store writes it with its own statements.
type Event struct {
	Kind                      licensor.UsageKind
	Pool, Feature             string
	Units                     int64
	At                        int64
	Lease, Contract, Instance string
}
