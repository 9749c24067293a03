package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store"
)

// TestLeaseTxDurableWhenAnswered: a capability request's transaction
// commits without waiting for the WAL flush, but is answered only once the
// WAL is flushed past its commit, and an error rolls it back.
func TestLeaseTxDurableWhenAnswered(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	if _, err := db.Pool().Exec(ctx, `CREATE TABLE lease_probe (n INT)`); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM lease_probe`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for round := range 20 {
		var setting, written string
		err := db.WriteLease(ctx, func(ctx context.Context, tx store.Conn) error {
			if err := db.LockPool(ctx, tx, "ten_probe", "pool_probe"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO lease_probe VALUES (?)`, round); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT current_setting('synchronous_commit'), pg_current_wal_insert_lsn()::text`).Scan(&setting, &written)
		})
		if err != nil {
			t.Fatalf("round %d: WriteLease: %v", round, err)
		}
		if setting != "off" {
			t.Errorf("round %d: synchronous_commit in the transaction: got %q, want off", round, setting)
		}
		// The commit record follows written: a flush that covers the
		// commit covers written.
		var flushed bool
		if err := db.Pool().QueryRow(ctx, `SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn`, written).Scan(&flushed); err != nil {
			t.Fatal(err)
		}
		if !flushed {
			t.Fatalf("round %d: answered before the WAL was flushed past %s", round, written)
		}
	}
	if got := count(); got != 20 {
		t.Fatalf("rows committed: got %d, want 20", got)
	}

	boom := errors.New("boom")
	err := db.WriteLease(ctx, func(ctx context.Context, tx store.Conn) error {
		if _, err := tx.Exec(ctx, `INSERT INTO lease_probe VALUES (-1)`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) && (err == nil || licensor.ErrorCode(err) != licensor.EINTERNAL) {
		t.Errorf("WriteLease with a failing fn: got %v, want its error", err)
	}
	if got := count(); got != 20 {
		t.Errorf("rows after a failed transaction: got %d, want 20 (rolled back)", got)
	}

	// The lock of an unknown lease's pool goes out with the next
	// statement, which then fails with ENOTFOUND.
	err = db.WriteLease(ctx, func(ctx context.Context, tx store.Conn) error {
		if err := db.LockLeasePool(ctx, tx, "ten_probe", "lea_nope"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO lease_probe VALUES (-2)`)
		return err
	})
	if licensor.ErrorCode(err) != licensor.ENOTFOUND {
		t.Errorf("WriteLease locking an unknown lease's pool: got %v, want ENOTFOUND", err)
	}
	if got := count(); got != 20 {
		t.Errorf("rows after a lease not found: got %d, want 20", got)
	}
}
