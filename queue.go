package licensor

import (
	"context"
	"time"
)

// Queue bounds: how long a request may wait for units.
const (
	// DefaultMaxWait is the longest wait a server allows unless configured.
	DefaultMaxWait = 10 * time.Minute
	// MaxMaxWait bounds what a server may be configured to allow.
	MaxMaxWait = time.Hour
	// WaiterTTL is how long a waiter holds its place without its server
	// renewing it: a waiter whose server died stops blocking its pool's
	// queue after at most this long.
	WaiterTTL = time.Minute
)

// ValidateWait checks a requested wait against the server's maximum.
func ValidateWait(wait, maxWait time.Duration) error {
	return ValidateDuration("wait", wait, time.Second, maxWait)
}

// Waiter is a capability request waiting in its pool's queue for units.
// The queue is first come, first served by Seq: while a live waiter is
// ahead, a request is not granted (unless the pool is Express and it fits
// now).
type Waiter struct {
	ID         string
	PoolID     string
	ContractID string
	InstanceID string
	Units      []Units
	// Seq is the waiter's place in the queue, set by the store: one
	// sequence for every server sharing the database.
	Seq       int64
	CreatedAt time.Time
	// Deadline is when the wait ends unanswered.
	Deadline time.Time
	// ExpiresAt is when the waiter lapses unless renewed (never after
	// Deadline): a lapsed waiter is ignored.
	ExpiresAt time.Time
}

// QueueLength is the number of live waiters of one pool.
type QueueLength struct {
	TenantID string
	PoolID   string
	Waiting  int
}

// QueueStore keeps the waiting requests of pools (tenant-scoped).
type QueueStore interface {
	// EnqueueWaiter appends w to its pool's queue, sets w.Seq and returns
	// its position (1: at the head) among the live waiters at
	// w.CreatedAt. ENOTFOUND for an unknown pool; ECONFLICT on a
	// duplicate id.
	EnqueueWaiter(ctx context.Context, w *Waiter) (int, error)
	// WaiterPosition returns the waiter's position (1: at the head) among
	// the pool's live waiters at now. ENOTFOUND when it has left the queue
	// or lapsed.
	WaiterPosition(ctx context.Context, poolID, id string, now time.Time) (int, error)
	// RenewWaiter sets the waiter's ExpiresAt to until, never past its
	// Deadline; a waiter that lapsed (its server stalled) holds its place
	// again. ENOTFOUND when it has left the queue or its Deadline is not
	// after now.
	RenewWaiter(ctx context.Context, poolID, id string, now, until time.Time) error
	// LeaveQueue removes a waiter; one already gone is not an error.
	LeaveQueue(ctx context.Context, poolID, id string) error
	// QueueLengths returns the pools of the scoped tenant (every tenant's
	// when ctx has no scope) that have live waiters at now.
	QueueLengths(ctx context.Context, now time.Time) ([]QueueLength, error)
}
