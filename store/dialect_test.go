package store

import "testing"

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"None", `SELECT 1`, `SELECT 1`},
		{"InOrder", `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{"Numbered", `UPDATE t SET a = ?2 WHERE b = ?1 AND c <> ?2`, `UPDATE t SET a = $2 WHERE b = $1 AND c <> $2`},
		{"Quoted", `SELECT '?' , "a?" FROM t WHERE b = ?`, `SELECT '?' , "a?" FROM t WHERE b = $1`},
		{"Many", `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Rebind(tc.in); got != tc.want {
				t.Errorf("Rebind(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	var r Rebinder
	q := `SELECT a FROM t WHERE b = ?`
	first := r.Rebind(q)
	if allocs := testing.AllocsPerRun(100, func() { _ = r.Rebind(q) }); allocs != 0 {
		t.Errorf("cached Rebind: got %v allocations, want 0", allocs)
	}
	if got := r.Rebind(q); got != first {
		t.Errorf("cached Rebind: got %q, want %q", got, first)
	}
}
