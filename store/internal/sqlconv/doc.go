// Package sqlconv converts between the domain's values and the columns
// both SQL stores (store/sqlite, store/postgres) keep them in: times as
// Unix microseconds UTC, durations as nanoseconds, JSON and space-separated
// text columns, and whole rows of the tables the two schemas share.
//
// A row comes in through Scanner, which *sql.Row, *sql.Rows, pgx.Row and
// pgx.Rows all satisfy; each decoder reads the columns of the list beside
// it (TenantCols for ScanTenant, ...), in that order. Those lists are plain
// column names, the same in both dialects, so each store writes them into
// its own SQL. The destinations are types both drivers fill the same way
// from both schemas' column types (an INTEGER 0/1 and a BOOLEAN both into a
// bool, a NULL into a sql.Null*).
//
// This package must never hold a statement, know a driver, or decide what
// a value means (validation and defaults are newrecord's).
package sqlconv
