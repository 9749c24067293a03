package store

// Scanner is one row: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all are.
type Scanner interface{ Scan(dest ...any) error }

// Iter is a result set being read, as the decoders need it: Rows, and
// *sql.Rows and pgx.Rows themselves.
type Iter interface {
	Scanner
	Next() bool
	Err() error
}

// All decodes every remaining row of rows with scan, in order. It leaves
// closing rows to the caller (the two drivers' Close differ), and returns
// what it read with the error rows ended on.
func All[T any](rows Iter, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
