package postgres

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The warning at a window's end names the key that waited longest among
// those worth a warning (enough transactions, a long enough mean wait),
// not one that waited longer in total over too few transactions.
func TestLockWaitWarningPicksAKeyWorthIt(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var w lockWaits
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	few := lockKey{lockKindPool, "ten_1", "pool_few"}   // 10 transactions of 1 s: too few
	many := lockKey{lockKindPool, "ten_1", "pool_many"} // 200 of 2 ms
	quiet := lockKey{lockKindPool, "ten_1", "pool_quiet"}
	for range 10 {
		w.record(few, time.Second, t0, log)
	}
	for range 200 {
		w.record(many, 2*time.Millisecond, t0, log)
		w.record(quiet, 10*time.Microsecond, t0, log)
	}
	if buf.Len() != 0 {
		t.Fatalf("a warning before the window ended:\n%s", buf.String())
	}
	w.record(quiet, 0, t0.Add(lockWaitWindow), log)
	out := buf.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, "id=pool_many") || !strings.Contains(out, "transactions=200") {
		t.Errorf("want one warning naming pool_many (200 transactions); log:\n%s", out)
	}
	buf.Reset()
	w.record(quiet, 0, t0.Add(2*lockWaitWindow), log) // a window of only quiet waits
	if buf.Len() != 0 {
		t.Errorf("a warning for a window with nothing worth it:\n%s", buf.String())
	}
	if got := w.totals[lockKindPool].n; got != 412 {
		t.Errorf("transactions counted: got %d, want 412", got)
	}
}
