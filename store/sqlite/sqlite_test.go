package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/storetest"
)

func openTemp(t *testing.T, opts ...Option) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "licensor.db")
	db, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: got error %v, want none", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: got error %v, want none", err)
		}
	})
	return db, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) licensor.Store {
		db, _ := openTemp(t)
		return db
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "licensor.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ten := &licensor.Tenant{Name: "Acme", ConcurrencyLimit: 60, ExpiryWarning: licensor.DefaultExpiryWarning}
	if err := db.CreateTenant(ctx, ten); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open again: got error %v, want none", err)
	}
	defer db.Close()
	got, err := db.GetTenant(ctx, ten.ID)
	if err != nil {
		t.Fatalf("GetTenant after reopening: got error %v, want none", err)
	}
	if got.Name != "Acme" {
		t.Errorf("Name: got %q, want %q", got.Name, "Acme")
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatalf("SchemaVersion: %v", err)
	}
	ms, _ := store.Load(migrationFS)
	if want := store.Latest(ms); v != want {
		t.Errorf("SchemaVersion: got %d, want %d", v, want)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	if _, err := db.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatalf("insert a future migration: %v", err)
	}
	_, err := Open(ctx, path)
	if err == nil {
		t.Fatalf("Open of a database from the future: got no error, want one")
	}
	if !strings.Contains(err.Error(), "9999") || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open: got error %q, want one saying the schema version 9999 is newer", err)
	}
}

func TestPragmasOnReaders(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t, WithReadConns(3))
	// Hold every reader connection at once so that each one is checked.
	conns := make([]interface{ Close() error }, 0, 3)
	for i := range 3 {
		c, err := db.r.Conn(ctx)
		if err != nil {
			t.Fatalf("reader conn %d: %v", i, err)
		}
		conns = append(conns, c)
		var mode string
		var fk, queryOnly, busy int
		if err := c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA query_only`).Scan(&queryOnly); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Errorf("reader %d journal_mode: got %q, want %q", i, mode, "wal")
		}
		if fk != 1 {
			t.Errorf("reader %d foreign_keys: got %d, want 1", i, fk)
		}
		if queryOnly != 1 {
			t.Errorf("reader %d query_only: got %d, want 1", i, queryOnly)
		}
		if busy != busyTimeoutMillis {
			t.Errorf("reader %d busy_timeout: got %d, want %d", i, busy, busyTimeoutMillis)
		}
		if _, err := c.ExecContext(ctx, `INSERT INTO tenants (id, name, concurrency_limit, queue_wait_ns, expiry_warning_ns, created_at, updated_at)
			VALUES ('ten_x', 'x', 1, 0, 0, 0, 0)`); err == nil {
			t.Errorf("reader %d: a write succeeded, want it refused (query_only)", i)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	var fk, sync int
	if err := db.w.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := db.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if fk != 1 || sync != 1 {
		t.Errorf("writer foreign_keys, synchronous: got %d, %d, want 1, 1 (NORMAL)", fk, sync)
	}
}

func TestAuditAppendOnly(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	e := &licensor.AuditEntry{At: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), ActorRole: licensor.RoleOperator, Action: "tenant.create", ObjectType: "tenant", ObjectID: "ten_1"}
	if err := db.AppendAudit(ctx, e); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if _, err := db.w.ExecContext(ctx, `UPDATE audit_log SET action = 'forged' WHERE id = ?`, e.ID); err == nil {
		t.Errorf("UPDATE audit_log: got no error, want the trigger to refuse it")
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM audit_log WHERE id = ?`, e.ID); err == nil {
		t.Errorf("DELETE FROM audit_log: got no error, want the trigger to refuse it")
	}
}

// TestMigrationNames checks the embedded migrations: numbered without
// gaps from 0001 (store.Load checks the rest of the naming).
func TestMigrationNames(t *testing.T) {
	ms, err := store.Load(migrationFS)
	if err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
	want := 1
	for _, m := range ms {
		if m.Version != want {
			t.Errorf("migration %s: got version %d, want %d (no gaps)", m.Name, m.Version, want)
		}
		want = m.Version + 1
	}
}

func TestOpenRefusesOddPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if db, err := Open(context.Background(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q): got no error, want one", p)
		}
	}
}

// Under steady traffic a checkpoint on the side connection cannot leave
// the WAL wholly copied: a reader pins an older snapshot, or a write lands
// while it copies. The second step, on the writer connection, catches up
// once the reader has gone, so the next write starts the WAL again from
// its first frame instead of growing it. The reader here ends between the
// two steps (the test hook), as one would under load.
func TestCheckpointBusyRestartsWAL(t *testing.T) {
	for _, tc := range []struct {
		name      string
		bothSteps bool
	}{{"SideOnly", false}, {"BothSteps", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openTemp(t, WithCheckpointInterval(-1))
			create := func() {
				t.Helper()
				if err := db.CreateTenant(ctx, &licensor.Tenant{Name: "Acme", ConcurrencyLimit: 60, ExpiryWarning: time.Hour}); err != nil {
					t.Fatalf("CreateTenant: %v", err)
				}
			}
			for range 40 {
				create()
			}
			reader, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := reader.QueryRowContext(ctx, "SELECT count(*) FROM tenants").Scan(&n); err != nil {
				t.Fatal(err)
			}
			create() // lands after the reader's snapshot
			release := func() {
				if err := reader.Rollback(); err != nil {
					t.Errorf("ending the reader: %v", err)
				}
			}
			if tc.bothSteps {
				db.testHookBetweenCheckpoints = release
				err = db.checkpointBusy(ctx)
			} else {
				_, err = db.checkpoint(ctx, db.ck, "PASSIVE", time.Minute)
				release()
			}
			if err != nil {
				t.Fatal(err)
			}
			create()
			var busy, frames, done int
			if err := db.ck.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
				t.Fatal(err)
			}
			restarted := frames < 10 // one write's frames, not 40 writes' more
			if restarted != tc.bothSteps {
				t.Errorf("WAL frames after the checkpoint and one more write: got %d; restarted %v, want %v", frames, restarted, tc.bothSteps)
			}
		})
	}
}

func TestCheckpointTruncatesIdleWAL(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t, WithCheckpointInterval(20*time.Millisecond))
	for range 50 {
		if err := db.CreateTenant(ctx, &licensor.Tenant{Name: "Acme", ConcurrencyLimit: 60, ExpiryWarning: time.Hour}); err != nil {
			t.Fatalf("CreateTenant: %v", err)
		}
	}
	// The writer is idle now: the checkpointer must bring the WAL to zero
	// bytes on its own, without any request touching the store.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := os.Stat(path + "-wal")
		if err == nil && st.Size() == 0 {
			break
		}
		if time.Now().After(deadline) {
			size := int64(-1)
			if st != nil {
				size = st.Size()
			}
			t.Fatalf("WAL size after the writer went idle: got %d bytes, want 0 (err %v)", size, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
