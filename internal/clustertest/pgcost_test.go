package clustertest

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/internal/pgtest"
)

// pgCost reads what the database spent between two points of a benchmark,
// so that each benchmark reports PostgreSQL's own cost per operation
// beside its throughput:
//
//   - wal-B/op: WAL written (pg_current_wal_lsn), every session's;
//   - pg-stmts/op: statements run, from pg_stat_statements where the
//     database has that extension (it needs shared_preload_libraries);
//   - pg-cpu-µs/op: CPU time of the PostgreSQL server's processes, from
//     /proc, where the server runs on this machine: the postmaster's
//     children alive now plus those it has reaped (its cutime and
//     cstime), so backends that ended in between count.
//
// Everything else that uses the same PostgreSQL server meanwhile counts
// too: run these on a server of their own.
type pgCost struct {
	conn       *pgx.Conn
	postmaster int // 0 when the server is not on this machine
	statements bool

	wal, stmts, ticks int64
}

// newPGCost connects to the benchmark's database. It reports nothing when
// LICENSOR_TEST_POSTGRES is unset.
func newPGCost(b *testing.B) *pgCost {
	b.Helper()
	dsn := pgtest.URL(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatalf("connect for the database's costs: %v", err)
	}
	b.Cleanup(func() { _ = conn.Close(context.Background()) })
	c := &pgCost{conn: conn}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'`).Scan(&n); err == nil && n > 0 {
		c.statements = true
	}
	if local(dsn) {
		var backend int
		if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err == nil {
			if f, ok := procStat(backend); ok {
				c.postmaster = int(f[1]) // a backend's parent is the postmaster
			}
		}
	}
	return c
}

// local reports whether dsn names a server on this machine.
func local(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1", "":
		return true
	}
	return false
}

// start marks where the measured work begins.
func (c *pgCost) start(b *testing.B) {
	b.Helper()
	c.wal, c.stmts, c.ticks = c.read(b)
}

// report divides what was spent since start by the benchmark's operations.
func (c *pgCost) report(b *testing.B) {
	b.Helper()
	wal, stmts, ticks := c.read(b)
	n := float64(b.N)
	b.ReportMetric(float64(wal-c.wal)/n, "wal-B/op")
	if c.statements {
		// Less the two statements read() itself runs each time.
		b.ReportMetric(float64(stmts-c.stmts-2)/n, "pg-stmts/op")
	}
	if c.postmaster != 0 {
		b.ReportMetric(float64(ticks-c.ticks)*1e6/clockTicks/n, "pg-cpu-µs/op")
	}
}

// clockTicks is the unit of /proc's CPU times (USER_HZ), 100 on Linux.
const clockTicks = 100

func (c *pgCost) read(b *testing.B) (wal, stmts, ticks int64) {
	b.Helper()
	ctx := context.Background()
	if err := c.conn.QueryRow(ctx, `SELECT pg_current_wal_lsn() - '0/0'::pg_lsn`).Scan(&wal); err != nil {
		b.Fatalf("read the WAL position: %v", err)
	}
	if c.statements {
		if err := c.conn.QueryRow(ctx, `SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements`).Scan(&stmts); err != nil {
			b.Fatalf("read pg_stat_statements: %v", err)
		}
	}
	if c.postmaster != 0 {
		ticks = serverTicks(c.postmaster)
	}
	return wal, stmts, ticks
}

// serverTicks is the CPU time, in clock ticks, of the postmaster's
// children: those alive, and those reaped.
func serverTicks(postmaster int) int64 {
	var sum int64
	if f, ok := procStat(postmaster); ok {
		sum += f[13] + f[14] // cutime, cstime
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, ok := procStat(pid); ok && int(f[1]) == postmaster {
			sum += f[11] + f[12] // utime, stime
		}
	}
	return sum
}

// procStat returns the numeric fields of /proc/pid/stat after the command
// name, from ppid on: f[1] is the ppid, f[11] utime, f[12] stime, f[13]
// cutime and f[14] cstime (proc(5)'s fields 4, 14, 15, 16 and 17, less 3).
func procStat(pid int) ([]int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 16 {
		return nil, false
	}
	out := make([]int64, 16)
	for j := 1; j < 16; j++ {
		out[j], _ = strconv.ParseInt(fields[j], 10, 64)
	}
	return out, true
}
