// Package lease is what the two SQL stores do with leases that is not SQL:
// the text of a lease's units column, what is left of a lease after a
// return, the order of a capability request's statements (Take), and the
// end of a lease (End, Expire, Release; Return, and NotRenewed for a
// renewal that found no live lease): what is deleted and freed, in which
// order, with which usage events, and which error a caller gets, so that
// both stores decide grants, denials, partial grants, previews, returns
// and expiries alike. It never runs a query itself: the stores give it
// their statements (Tx for a request, EndTx and LifeTx for the rest), and
// keep what their driver decides, such as batching statements into one
// round trip or which lock a transaction holds.
package lease
