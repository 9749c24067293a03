package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// Write-behind of refreshes. Most GetLicense calls refresh an instance that
// already exists and keeps its seat (or takes none): nothing is decided by
// that write, it only moves last_seen_at, the license id and expiry, the
// host, the address, the environment and the clone flag. Such a refresh
// need not commit before the answer. Checkin takes the instance as last
// answered from a bounded in-memory map (or reads it: reader pool, prepared
// statement), computes the refreshed row in memory, queues it and answers; a flusher writes the queued rows every FlushInterval (or
// once flushAt rows are queued) in one transaction through the single write
// path (group commit), several refreshes of one instance coalesced into the
// last one.
//
// Everything that decides something stays synchronous: a new instance, a
// check-in that must take a seat (a released seat competes again), and a
// check-in carrying telemetry (it appends history).
//
// Consistency: the reads of instances (GetInstance, ListInstances,
// ExpiringInstances, SilentInstances, LicenseExpiryHistogram) flush what is
// queued first, so a caller always reads its own check-ins. A synchronous
// check-in of an instance with a queued refresh flushes it first, so an older
// queued row never lands over a newer one. Close flushes everything.
//
// The remembered rows are trusted for knownTTL and only while no seat has
// been released (or telemetry pruned) through this store since they were
// read; after either, the next refresh of each instance reads its row
// again. A seat released by another process sharing the file is therefore
// seen within knownTTL.
//
// Crash semantics: a crash (kill -9, power loss) loses at most the refreshes
// queued in the last flush interval — last_seen_at and the license id of
// instances that keep their seat. Never a seat: seats are only taken by
// synchronous check-ins, committed before the answer.

// Defaults of the write-behind.
const (
	DefaultFlushInterval = 25 * time.Millisecond
	// flushAt queued rows start a flush without waiting for the interval;
	// maxPending rows queued make further refreshes of other instances
	// synchronous, so a flusher that falls behind slows callers down
	// instead of growing memory.
	flushAt    = 2048
	maxPending = 32768
	// The last known row of up to maxKnown instances lets a refresh skip
	// the read too. An entry is trusted for knownTTL, and only if no seat
	// was released since it was made (seatGen): a seat released by another
	// process on the same file is seen here within knownTTL.
	maxKnown = 50000
	knownTTL = 5 * time.Second
)

// instanceByKeySQL is the read that decides whether a check-in can be
// written behind.
const instanceByKeySQL = `SELECT ` + store.InstanceCols + ` FROM instances
	WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`

type instKey struct{ tenant, contract, instance string }

// knownInstance is an instance as last answered, with the seatGen it was
// decided under and when it was read from the file.
type knownInstance struct {
	inst   *licensor.Instance
	gen    uint64
	readAt time.Time
}

type writeBehind struct {
	interval time.Duration

	mu       sync.Mutex
	pending  map[instKey]*licensor.Instance // queued, not yet taken by a flush
	flushing map[instKey]*licensor.Instance // being written by the current flush
	// moved holds the queued refreshes that start a new hour of last
	// check-in or of license expiry (flush.go), as far as the row they
	// refresh tells; nil when none.
	moved   map[instKey]struct{}
	flushes uint64 // flushes completed
	closed  bool
	known   map[instKey]knownInstance
	seatGen uint64 // invalidations: seats released, telemetry pruned

	flushMu sync.Mutex    // one flush at a time
	kick    chan struct{} // wakes the flusher early (flushAt rows queued)
	stop    chan struct{}
	done    chan struct{}
}

func (db *DB) startWriteBehind(interval time.Duration) {
	db.wb = &writeBehind{
		interval: interval,
		pending:  make(map[instKey]*licensor.Instance),
		known:    make(map[instKey]knownInstance),
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if interval <= 0 {
		close(db.wb.done)
		return
	}
	go db.flushLoop()
}

// stopWriteBehind refuses further queued refreshes, stops the flusher and
// writes what is queued.
func (db *DB) stopWriteBehind() error {
	wb := db.wb
	wb.mu.Lock()
	already := wb.closed
	wb.closed = true
	wb.mu.Unlock()
	if !already && wb.interval > 0 {
		close(wb.stop)
	}
	<-wb.done
	return db.flushPending()
}

func (db *DB) flushLoop() {
	wb := db.wb
	defer close(wb.done)
	t := time.NewTicker(wb.interval)
	defer t.Stop()
	for {
		select {
		case <-wb.stop:
			return
		case <-t.C:
		case <-wb.kick:
		}
		if err := db.flushPending(); err != nil {
			db.log.Error("write-behind flush failed; queued refreshes lost", "err", err)
		}
	}
}

// syncReads makes queued refreshes visible to a read of instances.
func (db *DB) syncReads() error {
	wb := db.wb
	wb.mu.Lock()
	idle := len(wb.pending) == 0 && wb.flushing == nil
	wb.mu.Unlock()
	if idle {
		return nil
	}
	return db.flushPending()
}

// queued reports whether k has a refresh queued or being flushed.
func (wb *writeBehind) queued(k instKey) bool {
	wb.mu.Lock()
	defer wb.mu.Unlock()
	return wb.pending[k] != nil || wb.flushing[k] != nil
}

// checkinBehind tries to answer c without a write: it returns the refreshed
// instance and true if the instance exists and keeps its seat (or its
// non-production slot, taking no seat) and c carries no telemetry; false if c needs the synchronous path
// (then nothing was queued).
func (db *DB) checkinBehind(ctx context.Context, tid string, c licensor.Checkin, now, window int64) (*licensor.Instance, bool, error) {
	wb := db.wb
	if wb.interval <= 0 || c.Telemetry != nil {
		return nil, false, nil
	}
	k := instKey{tid, c.ContractID, c.InstanceID}
	wb.mu.Lock()
	if wb.closed {
		wb.mu.Unlock()
		return nil, false, nil
	}
	if kn, ok := wb.known[k]; ok && kn.gen == wb.seatGen && keeps(kn.inst, c) && time.Since(kn.readAt) < knownTTL {
		inst, ok := wb.queueLocked(k, kn.inst, kn.inst.Seat, kn.inst.NonProductionSlot, c, now, window, kn.gen, kn.readAt)
		wb.mu.Unlock()
		return inst, ok, nil
	}
	wb.mu.Unlock()
	for {
		wb.mu.Lock()
		seen, gen, closed := wb.flushes, wb.seatGen, wb.closed
		wb.mu.Unlock()
		if closed {
			return nil, false, nil
		}
		readAt := time.Now()
		row, err := store.ScanInstance(db.rd.QueryRowContext(ctx, instanceByKeySQL, tid, c.ContractID, c.InstanceID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, driverErr("Checkin", err)
		}
		if !keeps(row, c) {
			return nil, false, nil
		}
		wb.mu.Lock()
		base := wb.pending[k]
		if base == nil {
			base = wb.flushing[k]
		}
		if (base == nil && wb.flushes != seen) || wb.seatGen != gen {
			// A flush committed, or a seat was released, between the read
			// and here: the row read may be stale. Read again.
			wb.mu.Unlock()
			continue
		}
		if base == nil {
			base = row
		}
		inst, ok := wb.queueLocked(k, base, row.Seat, row.NonProductionSlot, c, now, window, gen, readAt)
		wb.mu.Unlock()
		return inst, ok, nil
	}
}

// keeps reports whether inst needs nothing taken by c, the store's refresh
// condition (store/instance.go) in Go: it holds its seat, or c takes none
// and it holds its non-production slot.
func keeps(inst *licensor.Instance, c licensor.Checkin) bool {
	return inst.Seat || (!c.TakesSeat && inst.NonProductionSlot)
}

// queueLocked queues the refresh of base by c and remembers it; false if
// the queue is full (then nothing was queued). wb.mu is held.
func (wb *writeBehind) queueLocked(k instKey, base *licensor.Instance, seat, slot bool, c licensor.Checkin, now, window int64, gen uint64, readAt time.Time) (*licensor.Instance, bool) {
	if wb.pending[k] == nil && len(wb.pending) >= maxPending {
		return nil, false
	}
	inst := refreshed(base, seat, slot, c, now, window)
	wb.pending[k] = inst
	if hoursMoved(base, inst) {
		if wb.moved == nil {
			wb.moved = make(map[instKey]struct{})
		}
		wb.moved[k] = struct{}{}
	}
	wb.rememberLocked(k, inst, gen, readAt)
	if len(wb.pending) == flushAt {
		select {
		case wb.kick <- struct{}{}:
		default:
		}
	}
	out := *inst
	if out.Telemetry != nil {
		t := *out.Telemetry
		out.Telemetry = &t
	}
	return &out, true
}

func (wb *writeBehind) rememberLocked(k instKey, inst *licensor.Instance, gen uint64, readAt time.Time) {
	if _, ok := wb.known[k]; !ok && len(wb.known) >= maxKnown {
		clear(wb.known) // bounded; the next refreshes read again
	}
	wb.known[k] = knownInstance{inst: inst, gen: gen, readAt: readAt}
}

// remember records inst, just committed by a synchronous check-in that
// started under seat generation gen, unless a seat was released since or
// a refresh of it was queued meanwhile.
func (wb *writeBehind) remember(k instKey, inst *licensor.Instance, gen uint64, readAt time.Time) {
	wb.mu.Lock()
	defer wb.mu.Unlock()
	if wb.seatGen == gen && wb.pending[k] == nil && wb.flushing[k] == nil && !wb.closed {
		c := *inst
		if c.Telemetry != nil {
			t := *c.Telemetry
			c.Telemetry = &t
		}
		wb.rememberLocked(k, &c, gen, readAt)
	}
}

// invalidate makes every remembered instance untrusted; called after a
// seat is released, or telemetry pruned, so that no refresh answers from a
// row older than that write.
func (wb *writeBehind) invalidate() {
	wb.mu.Lock()
	wb.seatGen++
	wb.mu.Unlock()
}

// generation returns the current seat generation.
func (wb *writeBehind) generation() uint64 {
	wb.mu.Lock()
	defer wb.mu.Unlock()
	return wb.seatGen
}

// refreshed is the store's refresh statement (store/instance.go) in Go:
// base is the instance as last written (or queued), seat and slot whether
// it holds a seat or a non-production slot now.
func refreshed(base *licensor.Instance, seat, slot bool, c licensor.Checkin, now, window int64) *licensor.Instance {
	inst := *base
	inst.Seat, inst.NonProductionSlot = seat, slot
	otherHost := c.Host != "" && base.Host != "" && base.Host != c.Host
	otherMachine := c.Fingerprint != "" && base.Fingerprint != "" && base.Fingerprint != c.Fingerprint
	if window > 0 && (otherHost || otherMachine) && now-store.Micros(base.LastSeenAt) < window {
		inst.CloneSuspectedAt = store.FromMicros(now)
	}
	if c.Fingerprint != "" {
		inst.Fingerprint = c.Fingerprint
	}
	inst.Host = c.Host
	inst.LastSeenAt = store.FromMicros(now)
	inst.Environment = c.Environment
	inst.RemoteAddr = c.RemoteAddr
	inst.LicenseID = c.LicenseID
	inst.LicenseExpiresAt = store.FromMicros(store.Micros(c.LicenseExpiresAt))
	return &inst
}
