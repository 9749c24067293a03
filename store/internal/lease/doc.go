// Package lease is what the two SQL stores do with leases that is not SQL:
// the text of a lease's units column, what is left of a lease after a
// return, and the order of a capability request's statements (Take), so
// that both stores decide grants, denials, partial grants and previews
// alike. It never runs a query itself: the stores give it their
// statements (Tx).
package lease
