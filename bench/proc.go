package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

type usage struct {
	pid int
	cpu float64 // CPU seconds at the start
}

// startUsage notes a process's CPU time at the start of a run; pid 0
// measures nothing.
func startUsage(pid int) *usage {
	if pid <= 0 {
		return nil
	}
	cpu, err := ProcCPU(pid)
	if err != nil {
		return nil
	}
	return &usage{pid: pid, cpu: cpu}
}

func (u *usage) stop(elapsed time.Duration) *ServerUsage {
	if u == nil {
		return nil
	}
	cpu, err := ProcCPU(u.pid)
	if err != nil {
		return nil
	}
	su := &ServerUsage{PID: u.pid, CPUSeconds: cpu - u.cpu}
	if elapsed > 0 {
		su.CPUCores = su.CPUSeconds / elapsed.Seconds()
	}
	su.PeakRSSBytes, su.RSSBytes, _ = ProcRSS(u.pid)
	return su
}

// ProcCPU returns the user+system CPU seconds of a process so far.
func ProcCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return float64(ut+st) / clockTicks, nil
}

// ProcRSS returns a process's peak resident size (VmHWM) and current one
// (VmRSS), in bytes.
func ProcRSS(pid int) (peak, cur int64, err error) {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		fs := strings.Fields(v) // "123456 kB"
		if len(fs) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			continue
		}
		if k == "VmHWM" {
			peak = kb << 10
		} else {
			cur = kb << 10
		}
	}
	return peak, cur, sc.Err()
}
