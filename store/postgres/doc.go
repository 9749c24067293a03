// Package postgres is Licensor's shared store: licensor.Store on one
// PostgreSQL database, through pgx v5 (pgxpool), so that several `serve`
// processes behind a load balancer share one source of truth.
//
// Its shape follows from "many servers, one database":
//
//   - Every count (seats, units) is decided by the database in the statement
//     or transaction that changes it: a conditional UPDATE ... WHERE used < max
//     whose row lock makes concurrent takers queue, never a read in one
//     process followed by a write.
//   - Transactions run at READ COMMITTED and are retried (a few times) on a
//     serialization failure or a deadlock; a hot path that needs one
//     statement (a license refresh) runs as one statement.
//   - Embedded migrations (migrations/NNNN_name.sql, numbered like the
//     SQLite ones), applied in one transaction at Open under an advisory lock
//     so that servers starting together do not race, and recorded in
//     schema_migrations. A schema newer than this build knows is refused.
//   - A ChangeFeed on LISTEN/NOTIFY carries contract changes to WatchLicense
//     streams held on every server (feed.go).
//
// The schema mirrors store/sqlite's: times are BIGINT Unix microseconds UTC
// (0 for the zero time), durations BIGINT nanoseconds, identifiers TEXT
// COLLATE "C" so that lists page in bytewise order on any database. Every
// query on a tenant's data has tenant_id = $n bound from the context scope
// (licensor.MustTenant).
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
package postgres
