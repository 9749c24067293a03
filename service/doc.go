// Package service implements Licensor's use cases — issuing licenses,
// managing tenants, contracts, tokens and keys — over a licensor.Store, a
// key sealer, a change feed and an injected clock.
//
// It decides who may do what (the Actor in the context), validates every
// input before anything is stored, and records every admin mutation in the
// audit log. It knows no transport: the connect handlers in server/ translate
// to and from protobuf and call it.
package service
