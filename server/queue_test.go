package server_test

import (
	"testing"

	"github.com/licensor/licensor/internal/testserver"
)

// TestQueueFairness: 200 requests wait for 5 units; each unit given back
// goes to the next of them in the order they joined, none is lost, none
// is granted twice.
func TestQueueFairness(t *testing.T) {
	s := testserver.Start(t)
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			testserver.QueueFairness(t, []*testserver.Server{s}, p, 200, 5)
		})
	}
}
