// Package sqlite is Licensor's embedded store: licensor.Store on one SQLite
// file, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// Its shape follows from SQLite's one-writer rule:
//
//   - One writer *sql.DB with a single connection. Every write goes through
//     DB.write, one BEGIN IMMEDIATE transaction at a time, so writers queue in
//     Go instead of fighting for the file lock under busy_timeout; that is
//     also the one place where writes can later be batched (group commit).
//   - A separate pool of query_only reader connections; WAL lets them read
//     while the writer writes.
//   - Pragmas live in the DSN, so that every pooled connection gets them.
//   - WAL checkpoints run from the writer on a schedule (a goroutine that
//     Close stops), not at the end of a request's commit.
//   - Write-behind of refreshes (writebehind.go): a check-in of an instance
//     that exists and keeps its seat (or takes none) decides nothing, so it
//     answers at once and its row is written by a flusher every
//     FlushInterval (default 25 ms), coalesced, in one transaction of the
//     write path. Reads of instances flush first, so they see every
//     check-in that has answered. A crash loses at most the last interval's
//     refreshes (last_seen_at, license id), never a seat: new instances,
//     seat grants and check-ins with telemetry commit before they answer.
//   - Embedded migrations (migrations/NNNN_name.sql), applied in name order
//     in one transaction at Open and recorded in schema_migrations. Adding a
//     file is all a schema change takes.
//
// Times are stored as INTEGER Unix microseconds UTC (0 for the zero time) and
// durations as INTEGER nanoseconds. Every query on a tenant's data has
// tenant_id = ? bound from the context scope (licensor.MustTenant).
//
// The Go around the SQL that both stores share lives in store/internal:
// the migration runner (migrations), row decoding and value conversions
// (sqlconv), new records' defaults and constraint words (newrecord), the
// tenant-scope rule (tenantscope), the translation of driver errors
// (dberr), and the decisions of a lease's life, from a capability request
// to its return or expiry (lease). The SQL, and what the driver decides,
// stay here.
//
// This package must never decide policy (what a license says, who may do
// what), never leak SQL or driver text in an error's Message, and never
// read-then-write outside one transaction.
package sqlite
