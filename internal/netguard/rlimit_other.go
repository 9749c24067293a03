//go:build !unix

package netguard

// DefaultMaxConns is 10000 where the open-file limit cannot be read.
func DefaultMaxConns() int { return 10000 }
