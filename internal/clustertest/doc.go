// Package clustertest holds the tests of several Licensor servers behind
// one address: three in-process servers (each its own service, store pool
// and change feed, on its own TLS port) sharing one PostgreSQL database.
// They run where LICENSOR_TEST_POSTGRES is set (.ci/run sets it) and skip
// with one line saying so elsewhere.
package clustertest
