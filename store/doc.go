// Package store is Licensor's SQL store, written once for both engines:
// every statement of licensor.Store and the Go around it, over a small
// connection interface that an engine package (store/sqlite,
// store/postgres) implements with thin adapters around its driver.
//
// # The pieces
//
//   - Conn (Exec/Query/QueryRow, with Row and Rows) is what a statement
//     runs on: a pool, a reader pool or a transaction. database/sql and
//     pgx both satisfy it through an engine's adapter.
//   - Statements are written with ? placeholders (?N where an argument
//     repeats). The PostgreSQL adapter rebinds them to $N through a
//     Rebinder, which caches each distinct text, so the hot path allocates
//     nothing for it.
//   - Dialect is the one value in which the engines differ: the spelling of
//     a maximum and of boolean literals, savepoints, and the classification
//     of driver errors (which constraint failed, what is transient).
//     Everything else, RETURNING and ON CONFLICT included, is spelled the
//     same in both.
//   - Engine is where reads run (Read) and how a write commits (Write for
//     a transaction, WriteOne for a single statement). The engines' own
//     speed-ups stay behind these hooks: SQLite's prepared-statement
//     readers and single writer (group commit, write-behind, checkpoints),
//     PostgreSQL's retried transactions, relaxed-durability refreshes,
//     change feed and advisory locks.
//   - DB is the shared store. An engine's DB embeds *DB (New), so DB's
//     methods are the engine's licensor.Store methods; the engine adds what
//     only it has (Open and its options, migrations, Close, its hooks).
//
// # Conventions
//
// Times are stored as Unix microseconds UTC (0 for the zero time, Micros
// and FromMicros) and durations as nanoseconds, in both schemas; each row
// decoder (ScanTenant, ...) reads the column list beside it (TenantCols,
// ...). Every query on a tenant's data binds tenant_id from the context
// scope (licensor.MustTenant, ClaimTenant, TenantList); from one scope
// another tenant's objects do not exist (TenantNotFound). A constraint
// failure becomes the domain error its statement's Messages word (Translate);
// any other error leaving a method goes through DB.Final: EUNAVAILABLE if
// the dialect calls it transient, EINTERNAL otherwise, never driver text
// in a Message.
//
// This package must never import a driver (pgx, modernc), never validate
// what the domain and the service validate (ids, unit lists: it decides
// only what the database decides, such as a taken id), never decide policy,
// and never read-then-write outside one transaction.
package store
