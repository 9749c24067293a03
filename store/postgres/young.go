package postgres

import (
	"context"
	"time"
)

// A young instances table is analyzed as it grows. Until PostgreSQL has
// statistics of a table, the planner cannot tell its indexes apart for a
// lookup by tenant, contract and instance: on a new deployment it picks
// instances_contract_seen (tenant, contract, last seen hour, instance),
// whose range for one contract holds every instance of the contract, and
// a statement prepared while the table was empty keeps a plan that scans
// the table whole. A contract whose fleet arrives in the first minutes (a
// surge after a deploy, a load test) then pays milliseconds for each
// refresh — 4–8 ms a lookup at 60,000 instances, against 0.04 ms with
// statistics — until autovacuum's ANALYZE, which may be a minute or more
// away. So while the table is young (fewer than youngRows rows when last
// analyzed) each server checks every youngEvery whether it has grown to
// twice what the statistics say, and analyzes it then; the ANALYZE also
// makes every connection plan its statements again. That is at most eight
// ANALYZEs per server (1,000 to 200,000 rows, doubling); the last, of
// 199,000 rows, took 67–81 ms of PostgreSQL's time on the VM of
// BENCHMARKS.md.

var (
	youngEvery = 5 * time.Second // a variable for tests
)

const (
	youngRows     = 200_000 // from this size on autovacuum's analyzes suffice
	youngMinGrown = 1_000   // rows before the first analyze
)

// growthSQL reads the instances table's rows as the statistics say
// (-1: never analyzed) and as they are now.
const growthSQL = `SELECT c.reltuples::bigint, coalesce(s.n_live_tup, 0)
	FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
	WHERE c.oid = to_regclass('instances')`

// watchYoung analyzes the instances table as it grows while it is young
// (analyzeIfGrown), until ctx ends or the table is no longer young.
func (db *DB) watchYoung(ctx context.Context) {
	t := time.NewTicker(youngEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		young, _, err := db.analyzeIfGrown(ctx)
		if err != nil && ctx.Err() == nil {
			db.log.Warn("could not analyze the growing instances table; autovacuum will", "err", err)
		}
		if !young {
			return
		}
	}
}

// analyzeIfGrown analyzes the instances table if it is young and has
// grown to twice its analyzed size (at least youngMinGrown rows). young
// is false once the analyzed size is youngRows or more.
func (db *DB) analyzeIfGrown(ctx context.Context) (young, analyzed bool, err error) {
	var stats, live int64
	if err := db.pool.QueryRow(ctx, growthSQL).Scan(&stats, &live); err != nil {
		return true, false, err
	}
	if stats >= youngRows {
		return false, false, nil
	}
	if live < youngMinGrown || live < 2*max(stats, 0) {
		return true, false, nil
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE instances`); err != nil {
		return true, false, err
	}
	before := stats
	if err := db.pool.QueryRow(ctx, growthSQL).Scan(&stats, &live); err != nil {
		return true, true, err
	}
	if stats == before {
		// PostgreSQL skips, with a warning, a table this role does not
		// own: stop asking, and leave it to autovacuum.
		db.log.Warn("could not analyze the growing instances table (the database role does not own it?); autovacuum will", "rows", live)
		return false, false, nil
	}
	db.log.Info("analyzed the growing instances table", "rows_before", max(before, 0), "rows", stats)
	return stats < youngRows, true, nil
}
