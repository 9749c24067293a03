// Package licensor is the domain of the Licensor license server: its nouns
// (tenants, products, contracts, instances, tokens, keys, leases), its one error
// type, the rules that decide what a license says, and the Store interface that
// the storage adapters implement.
//
// It imports no other package of this module and knows no transport and no
// database: the connect handlers live in server/, the stores in store/, and
// internal/app wires them together (for cmd/licensor and the tests).
package licensor
