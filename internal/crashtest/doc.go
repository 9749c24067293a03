// Package crashtest holds the test that kills the licensor server with
// SIGKILL under load, again and again on one data directory, and checks
// after every restart that the database is intact and that nothing a
// client saw acknowledged was lost: granted seats and leases are still
// there, returned ones stay returned, and the pools' counts match their
// leases. It has no code outside its tests.
//
//	go test ./internal/crashtest/ -crash.n 50
//
// runs more kills than the default. -short skips it.
package crashtest
