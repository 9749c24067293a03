// What the store does with leases that is not a statement: the text of a
// lease's units column (lease_units.go), what is left of a lease after a
// return, the order of a capability request's statements
// (takeCapabilities), and the end of a lease (endLease, expireLeases,
// releaseLease; returnLease, and notRenewed for a renewal that found no
// live lease): what is deleted and freed, in which order, with which usage
// events, and which error a caller gets. It runs its statements through
// small interfaces (takeTx for a request, endTx and lifeTx for the rest)
// that lease.go and lease_life.go implement over a Conn, so that it is
// tested without a database.

package store
