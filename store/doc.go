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
//   - Dialect is the one value in which the engines' SQL and errors
//     differ: the spelling of a maximum (MAX, GREATEST), of boolean
//     literals, of row locks (FOR UPDATE, SKIP LOCKED, empty where one
//     writer serialises everything), of savepoints; the migrations table
//     and lock; and the classification of driver errors (which constraint
//     failed, what is transient). Everything else, RETURNING, ON CONFLICT
//     and CAST included, is spelled the same in both.
//   - Engine is the hooks an engine gives the shared store, and where its
//     speed-ups live: Read (SQLite: prepared statements on the query_only
//     pool), ReadUnprepared (ad-hoc texts), Snapshot (one read snapshot),
//     Write (SQLite: the one writer, statements prepared on first sight;
//     PostgreSQL: READ COMMITTED retried on a lost race or ErrRetry),
//     WriteOne (PostgreSQL: one statement on the pool, no transaction),
//     Sync and InstancesChanged (SQLite's write-behind of refreshes). A
//     Conn that is also a Pipeliner (PostgreSQL) sends many statements in one
//     round trip (ExecStmts). What only one engine can say stays in it:
//     SQLite's group commit and checkpoints, PostgreSQL's relaxed refresh
//     pool, change feed and SKIP LOCKED delivery claims.
//   - DB is the shared store. An engine's DB embeds *DB (New), so DB's
//     methods are the engine's licensor.Store methods; the engine adds what
//     only it has (Open and its options, its migrations folder, Close, its
//     hooks).
//   - Migrate applies an engine's embedded migrations (NNNN_name.sql) in one
//     write transaction and refuses a database whose schema is newer than
//     the build.
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
