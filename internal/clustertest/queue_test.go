package clustertest

import (
	"testing"

	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/testserver"
)

// TestQueueAcrossServers: 200 requests wait, spread over three servers, for
// 5 units given back through all three; the queue is decided in the
// database and its wakeups travel by LISTEN/NOTIFY, so each unit goes to
// the next waiter in the order they joined, whichever server holds it.
func TestQueueAcrossServers(t *testing.T) {
	pgtest.URL(t)
	cluster := startCluster(t, 3)
	testserver.QueueFairness(t, cluster, testserver.GRPC, 200, 5)
}
