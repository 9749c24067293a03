//go:build unix

package netguard

import "syscall"

// DefaultMaxConns is three quarters of the process's open-file limit (the
// rest stays for the database, logs and outbound calls), at most 10000.
func DefaultMaxConns() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur == 0 {
		return 1000
	}
	return int(min(r.Cur/4*3, 10000))
}
