// Package sqlite is Licensor's embedded store: licensor.Store on one SQLite
// file, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// The statements are package store's, written once for both engines; this
// package gives them SQLite's Dialect (engine.go) and the connections they
// run on, and keeps what follows from SQLite's one-writer rule:
//
//   - One writer *sql.DB with a single connection. Every write goes through
//     DB.write (store.Engine.Write), one BEGIN IMMEDIATE transaction at a
//     time, so writers queue in Go instead of fighting for the file lock
//     under busy_timeout. Its statements are prepared on first sight and
//     reused (wtx.go); the hot ones when the store opens (stmt.go).
//   - Group commit (groupcommit.go): check-ins from concurrent GetLicense
//     calls share one transaction, each in a savepoint.
//   - A separate pool of query_only reader connections (store.Engine.Read),
//     reading through prepared statements cached by query text; WAL lets
//     them read while the writer writes.
//   - Pragmas live in the DSN, so that every pooled connection gets them.
//   - WAL checkpoints run on a schedule (a goroutine that Close stops), not
//     at the end of a request's commit.
//   - Write-behind of refreshes (writebehind.go): a check-in of an instance
//     that exists and keeps its seat (or takes none) decides nothing, so it
//     answers at once and its row is written by a flusher every
//     FlushInterval (default 25 ms), coalesced, in one transaction of the
//     write path. Reads of instances flush first (store.Engine.Sync), so
//     they see every check-in that has answered. A crash loses at most the
//     last interval's refreshes (last_seen_at, license id), never a seat:
//     new instances, seat grants and check-ins with telemetry commit before
//     they answer.
//   - Embedded migrations (migrations/NNNN_name.sql), applied by
//     store.DB.Migrate in one transaction at Open and recorded in
//     schema_migrations. Adding a file is all a schema change takes.
//
// Times are stored as INTEGER Unix microseconds UTC (0 for the zero time),
// durations as INTEGER nanoseconds, booleans as INTEGER 0/1.
//
// This package must never hold a statement that package store could hold
// for both engines, never decide policy (what a license says, who may do
// what), never leak SQL or driver text in an error's Message, and never
// read-then-write outside one transaction.
package sqlite
