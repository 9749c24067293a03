package store

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Dialect is everything in which the two engines' SQL and errors differ;
// the statements themselves are written once, in this package.
type Dialect struct {
	// Name is the engine's name, for logs and messages: "sqlite",
	// "postgres".
	Name string
	// Greatest is the spelling of the two-argument maximum of a row's
	// values: MAX in SQLite, GREATEST in PostgreSQL.
	Greatest string
	// True and False are the literals of a boolean column (INTEGER 1/0 in
	// SQLite, BOOLEAN in PostgreSQL). Arguments need no care: both
	// drivers bind a Go bool to their column type.
	True, False string
	// ForUpdate locks the rows a SELECT reads until the transaction ends
	// (" FOR UPDATE"); empty where one writer serialises transactions.
	ForUpdate string
	// SkipLocked is ForUpdate that passes over rows another transaction
	// holds (" FOR UPDATE SKIP LOCKED"), so that servers working through
	// the same rows take disjoint ones.
	SkipLocked string
	// Savepoint, RollbackTo and Release are the statements of a savepoint
	// named sp inside a transaction.
	Savepoint, RollbackTo, Release func(sp string) string
	// MigrationsTable creates schema_migrations (version INTEGER PRIMARY
	// KEY, name TEXT, applied_at Unix microseconds) if it does not exist.
	MigrationsTable string
	// MigrationsExist is a query of one boolean: whether schema_migrations
	// exists. The table is created only when it does not, so that a server
	// whose database role may read and write rows but not create tables
	// starts on a database that `licensor migrate` has brought up to date.
	MigrationsExist string
	// MigrationLock, if not empty, is the statement that starts the
	// migration transaction: PostgreSQL's advisory lock, so that servers
	// starting at once queue and the later ones find nothing to do.
	MigrationLock string
	// Constraint says which kind of constraint err is a failure of.
	Constraint func(err error) Constraint
	// Violates reports whether err is a failure of the named constraint
	// (used where a constraint failure means "run the transaction again").
	Violates func(err error, constraint string) bool
	// Transient reports whether a retry a little later can clear err: a
	// busy database, a lost race, a connection lost.
	Transient func(err error) bool
	// Unavailable is the message of an EUNAVAILABLE made of a transient
	// error.
	Unavailable string
	// JSONText is the spelling of the top-level string member key of col,
	// a TEXT column holding a JSON object or '' (NULL then, and for a
	// missing member). key is a constant of the store's, never input.
	JSONText func(col, key string) string
	// SetMovesIndexes: an UPDATE rewrites the entries of every index that
	// holds a column of its SET list, whatever the value (SQLite), so a
	// hot statement leaves out of it what has not changed. PostgreSQL
	// compares the values and keeps an update with equal indexed values
	// heap-only (HOT).
	SetMovesIndexes bool
}

// maxRebound bounds the Rebinder's cache: queries built with a variable
// number of placeholders would otherwise grow it without end. Past the
// bound a query is rebound on each call, still correct.
const maxRebound = 1024

// Rebinder turns the store's ? and ?N placeholders into PostgreSQL's $N,
// once per distinct query text: the hot path looks the text up in a
// sync.Map and allocates nothing. The zero value is ready to use.
type Rebinder struct {
	cache sync.Map // query → rebound query
	n     atomic.Int32
}

// Rebind returns q with $N placeholders.
func (r *Rebinder) Rebind(q string) string {
	if s, ok := r.cache.Load(q); ok {
		return s.(string)
	}
	s := Rebind(q)
	if r.n.Load() < maxRebound {
		if _, loaded := r.cache.LoadOrStore(q, s); !loaded {
			r.n.Add(1)
		}
	}
	return s
}

// Rebind turns ? into $1, $2, ... in order and ?N into $N, leaving quoted
// text ('...', "...") alone.
func Rebind(q string) string {
	if strings.IndexByte(q, '?') < 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(q[i+1 : j])
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
