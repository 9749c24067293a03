package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// flushSameHourSQL writes a queued refresh whose hours of last check-in
// and of license expiry (store.HourOf) are those in the file, and matches
// no row otherwise; flushSQL writes any, hours and all. SQLite rewrites
// the entries of every index holding a column of the SET list, whatever
// its value, so the common case leaves the hours out of it and moves no
// index entry. Every value is absolute (computed at check-in time), so
// coalescing keeps only the last one. Plain ? placeholders: the driver
// allocates the name of each numbered one on every run.
const (
	flushSet = `UPDATE instances SET clone_suspected_at = ?, host = ?, last_seen_at = ?,
	environment = ?, remote_addr = ?, license_id = ?, license_expires_at = ?, fingerprint = ?`
	flushWhere       = ` WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`
	flushSameHourSQL = flushSet + flushWhere + ` AND last_seen_hour = ? AND license_expires_hour = ?`
	flushSQL         = flushSet + `, last_seen_hour = ?, license_expires_hour = ?` + flushWhere
)

// hoursMoved reports whether inst, refreshed from base, starts a new hour
// of last check-in or of license expiry.
func hoursMoved(base, inst *licensor.Instance) bool {
	hour := func(t time.Time) int64 { return store.HourOf(store.Micros(t)) }
	return hour(base.LastSeenAt) != hour(inst.LastSeenAt) || hour(base.LicenseExpiresAt) != hour(inst.LicenseExpiresAt)
}

// flushPending writes every queued refresh in one transaction of the write
// path and returns once it has committed. A flush already running is waited
// for.
//
// A refresh that moved no hour, as far as the row it refreshed told, is
// written by flushSameHourSQL, and by flushSQL if that found the hours in
// the file changed (by another process sharing it, say); one that moved an
// hour by flushSQL at once. Either way the file's hours end up those of
// the exact times written.
func (db *DB) flushPending() error {
	wb := db.wb
	wb.flushMu.Lock()
	defer wb.flushMu.Unlock()
	wb.mu.Lock()
	if len(wb.pending) == 0 {
		wb.mu.Unlock()
		return nil
	}
	batch, moved := wb.pending, wb.moved
	wb.flushing, wb.pending, wb.moved = batch, make(map[instKey]*licensor.Instance, len(batch)), nil
	wb.mu.Unlock()

	err := db.writeBatched(context.Background(), "flush refreshes", func(ctx context.Context, tx *sql.Tx) error {
		same, all := tx.StmtContext(ctx, db.ws.flushSameHour), tx.StmtContext(ctx, db.ws.flush)
		for k, in := range batch {
			seen, expires := store.Micros(in.LastSeenAt), store.Micros(in.LicenseExpiresAt)
			seenHour, expiresHour := store.HourOf(seen), store.HourOf(expires)
			if _, ok := moved[k]; !ok {
				res, err := same.ExecContext(ctx, store.Micros(in.CloneSuspectedAt), in.Host, seen,
					in.Environment, in.RemoteAddr, in.LicenseID, expires, in.Fingerprint,
					k.tenant, k.contract, k.instance, seenHour, expiresHour)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				if n > 0 {
					continue
				}
			}
			// An hour moved (or the row is gone: then nothing is written).
			if _, err := all.ExecContext(ctx, store.Micros(in.CloneSuspectedAt), in.Host, seen,
				in.Environment, in.RemoteAddr, in.LicenseID, expires, in.Fingerprint,
				seenHour, expiresHour, k.tenant, k.contract, k.instance); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errClosed) {
		// Close stops the batcher only after this flush; a write that
		// still finds it closed has nothing left to write through.
		err = nil
	}
	wb.mu.Lock()
	wb.flushing = nil
	wb.flushes++
	wb.mu.Unlock()
	return err
}
