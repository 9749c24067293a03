package licensor

import (
	"context"
	"time"
)

// Reservation holds units of a pool feature for one instance, named by its
// instance id: no other instance can take them, while the instance itself
// draws on them like on any free unit. What it does not hold is the
// reservation's unused part, shown in the admin pool view and the usage
// report.
type Reservation struct {
	PoolID     string
	Feature    string
	InstanceID string
	Units      int64
	// Held is the units of the feature the instance holds in live leases
	// of the pool (read by the store; may exceed Units).
	Held int64
}

// Unused returns the reserved units the instance does not hold.
func (r Reservation) Unused() int64 { return max(0, r.Units-r.Held) }

// Validate checks a reservation to set; Units 0 removes it.
func (r *Reservation) Validate() error {
	if err := ValidateID("pool_id", r.PoolID); err != nil {
		return err
	}
	if err := ValidateKey("feature name", r.Feature); err != nil {
		return err
	}
	id, err := NormalizeID("instance_id", r.InstanceID)
	if err != nil {
		return err
	}
	r.InstanceID = id
	if r.Units < 0 || r.Units > MaxPoolUnits {
		return Errorf(EINVALID, "reservation of %d units; it must be between 0 (remove) and %d", r.Units, MaxPoolUnits)
	}
	return nil
}

// ReservationStore keeps pool reservations (tenant-scoped).
type ReservationStore interface {
	// SetReservation sets the units reserved for r.InstanceID (0 removes
	// the reservation), with the pool locked. ENOTFOUND for an unknown
	// pool or a feature it does not have; EINVALID when the feature's
	// reservations would exceed its MaxUnits.
	SetReservation(ctx context.Context, r Reservation) error
	// ListReservations returns a pool's reservations by feature and
	// instance, each with what the instance holds at now. ENOTFOUND.
	ListReservations(ctx context.Context, poolID string, now time.Time) ([]Reservation, error)
}
