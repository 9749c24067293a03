// Package postgres is Licensor's shared store: licensor.Store on one
// PostgreSQL database, through pgx v5 (pgxpool), so that several `serve`
// processes behind a load balancer share one source of truth.
//
// The statements are package store's, written once for both engines; this
// package gives them PostgreSQL's Dialect and a store.Conn over pgx that
// rebinds their ? placeholders to $N once per query text (engine.go), and
// keeps what follows from "many servers, one database":
//
//   - Every count (seats, units) is decided by the database in the statement
//     or transaction that changes it: a conditional UPDATE ... WHERE used < max
//     whose row lock makes concurrent takers queue, never a read in one
//     process followed by a write.
//   - Transactions run at READ COMMITTED and are retried (a few times) on a
//     serialization failure, a deadlock or store.ErrRetry; a write of one
//     statement runs on the pool without a transaction
//     (store.Engine.WriteOne); many statements of one transaction go in one
//     round trip (store.Pipeliner).
//   - License refreshes that decide no seat run on a second pool with
//     synchronous_commit=off (WithDurableRefresh turns that off).
//   - Capability requests and returns commit on connections with
//     synchronous_commit=off, so that a hot pool's lock is not held through
//     the WAL flush, and wait for the flush right after, outside the lock,
//     before they answer: as durable as any other write (lease.go). The
//     commonest of them, a whole grant of one feature and a whole return,
//     are one data-modifying statement each (lease_shortcut.go), and those
//     that reach a server while its grouped transaction runs go to the
//     database together, whichever pools they are for, as one transaction
//     with one flush (lease_group.go). A new instance's first check-in,
//     which counts a seat in its contract's row, is one statement the same
//     way, and new instances are grouped like pools' requests
//     (checkin_new.go). What those transactions wait for their locks is
//     measured (lock_wait.go).
//   - Embedded migrations (migrations/NNNN_name.sql, numbered like the
//     SQLite ones), applied by store.DB.Migrate in one transaction at Open
//     under an advisory lock so that servers starting together do not race,
//     and recorded in schema_migrations. A schema newer than this build
//     knows is refused.
//   - A ChangeFeed on LISTEN/NOTIFY carries contract changes to WatchLicense
//     streams held on every server (feed.go); delivery claims use FOR
//     UPDATE SKIP LOCKED (claim.go).
//
// The schema mirrors store/sqlite's: times are BIGINT Unix microseconds UTC
// (0 for the zero time), durations BIGINT nanoseconds, identifiers TEXT
// COLLATE "C" so that lists page in bytewise order on any database.
//
// This package must never hold a statement that package store could hold
// for both engines, never decide policy (what a license says, who may do
// what), never leak SQL or driver text in an error's Message, and never
// read-then-write outside one transaction.
package postgres
