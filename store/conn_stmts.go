package store

import "context"

// Stmt is one statement of a list that ExecStmts runs in order.
type Stmt struct {
	Query string
	Args  []any
}

// Pipeliner is a Conn that sends a list of statements in one round trip
// (PostgreSQL's pgx.Batch). SQLite runs in process and needs none.
type Pipeliner interface {
	// ExecStmts runs stmts in order and returns the rows each changed; on
	// a failure, the index of the statement that failed and its error.
	ExecStmts(ctx context.Context, stmts []Stmt) (affected []int64, failed int, err error)
}

// ExecStmts runs stmts in order on c, in one round trip if c is a
// Pipeliner, and returns the rows each changed; on a failure, the index of
// the statement that failed and its error.
func ExecStmts(ctx context.Context, c Conn, stmts []Stmt) ([]int64, int, error) {
	if p, ok := c.(Pipeliner); ok {
		return p.ExecStmts(ctx, stmts)
	}
	affected := make([]int64, len(stmts))
	for i, s := range stmts {
		n, err := c.Exec(ctx, s.Query, s.Args...)
		if err != nil {
			return affected, i, err
		}
		affected[i] = n
	}
	return affected, 0, nil
}
