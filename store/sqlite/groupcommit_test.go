package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// batchTable makes a scratch table and returns fns that insert a key, or
// insert one and then fail.
func batchTable(t *testing.T, db *DB) (insert func(k string) func(context.Context, *sql.Tx) error, keys func() []string) {
	t.Helper()
	if _, err := db.w.Exec(`CREATE TABLE gc_test (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert = func(k string) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO gc_test (k) VALUES (?)`, k)
			return err
		}
	}
	keys = func() []string {
		rows, err := db.w.Query(`SELECT k FROM gc_test ORDER BY k`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			out = append(out, k)
		}
		return out
	}
	return insert, keys
}

var errItem = errors.New("item failed")

func TestRunBatch(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name     string
		items    func(insert func(string) func(context.Context, *sql.Tx) error) []*batchItem
		wantErrs []bool
		wantKeys []string
	}{
		{"AllCommit", func(ins func(string) func(context.Context, *sql.Tx) error) []*batchItem {
			return []*batchItem{item(bg, ins("a")), item(bg, ins("b")), item(bg, ins("c"))}
		}, []bool{false, false, false}, []string{"a", "b", "c"}},
		{"FailingItemRollsBackAlone", func(ins func(string) func(context.Context, *sql.Tx) error) []*batchItem {
			return []*batchItem{item(bg, ins("a")), item(bg, func(ctx context.Context, tx *sql.Tx) error {
				if err := ins("x")(ctx, tx); err != nil {
					return err
				}
				return errItem
			}), item(bg, ins("c"))}
		}, []bool{false, true, false}, []string{"a", "c"}},
		{"ConstraintErrorFailsAlone", func(ins func(string) func(context.Context, *sql.Tx) error) []*batchItem {
			return []*batchItem{item(bg, ins("a")), item(bg, ins("a")), item(bg, ins("b"))}
		}, []bool{false, true, false}, []string{"a", "b"}},
		{"CancelledCallerSkipped", func(ins func(string) func(context.Context, *sql.Tx) error) []*batchItem {
			return []*batchItem{item(bg, ins("a")), item(cancelled, ins("x")), item(bg, ins("b"))}
		}, []bool{false, true, false}, []string{"a", "b"}},
		{"PanickingItemFailsAlone", func(ins func(string) func(context.Context, *sql.Tx) error) []*batchItem {
			return []*batchItem{item(bg, ins("a")), item(bg, func(ctx context.Context, tx *sql.Tx) error {
				if err := ins("x")(ctx, tx); err != nil {
					return err
				}
				panic("a bug")
			}), item(bg, ins("c"))}
		}, []bool{false, true, false}, []string{"a", "c"}},
		{"PanickingItemAlone", func(ins func(string) func(context.Context, *sql.Tx) error) []*batchItem {
			return []*batchItem{item(bg, func(ctx context.Context, tx *sql.Tx) error {
				if err := ins("x")(ctx, tx); err != nil {
					return err
				}
				panic("a bug")
			})}
		}, []bool{true}, nil},
		{"BrokenTransactionRetriesEachAlone", func(ins func(string) func(context.Context, *sql.Tx) error) []*batchItem {
			// As if SQLite had rolled the whole transaction back.
			return []*batchItem{item(bg, ins("a")), item(bg, func(ctx context.Context, tx *sql.Tx) error {
				_, _ = tx.ExecContext(ctx, `ROLLBACK`)
				return errItem
			}), item(bg, ins("b"))}
		}, []bool{false, true, false}, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openTemp(t)
			insert, keys := batchTable(t, db)
			items := tc.items(insert)
			db.runBatch(items)
			for i, it := range items {
				select {
				case err := <-it.done:
					if (err != nil) != tc.wantErrs[i] {
						t.Errorf("item %d: got error %v, want error: %v", i, err, tc.wantErrs[i])
					}
				default:
					t.Errorf("item %d: not answered", i)
				}
			}
			got := keys()
			if len(got) != len(tc.wantKeys) {
				t.Fatalf("stored keys: got %v, want %v", got, tc.wantKeys)
			}
			for i := range got {
				if got[i] != tc.wantKeys[i] {
					t.Fatalf("stored keys: got %v, want %v", got, tc.wantKeys)
				}
			}
		})
	}
}

var bg = context.Background()

// TestWriterSurvivesAPanic: a write that panics (a bug) is answered with
// an internal error, and the writer goroutine serves the next write.
func TestWriterSurvivesAPanic(t *testing.T) {
	db, _ := openTemp(t)
	insert, keys := batchTable(t, db)
	err := db.writeBatched(t.Context(), "Panics", func(ctx context.Context, tx *sql.Tx) error {
		if err := insert("x")(ctx, tx); err != nil {
			return err
		}
		panic("a bug")
	})
	if code := licensor.ErrorCode(err); code != licensor.EINTERNAL {
		t.Fatalf("a panicking write: got error %v (code %q), want %s", err, code, licensor.EINTERNAL)
	}
	if err := db.writeBatched(t.Context(), "After", insert("b")); err != nil {
		t.Fatalf("the next write: got error %v, want none", err)
	}
	if got := keys(); len(got) != 1 || got[0] != "b" {
		t.Errorf("stored keys: got %v, want [b]", got)
	}
}

func item(ctx context.Context, fn func(context.Context, *sql.Tx) error) *batchItem {
	return &batchItem{ctx: ctx, fn: fn, done: make(chan error, 1)}
}

// TestCheckinAfterClose: a check-in on a closed store fails at once
// instead of waiting for a writer that is gone.
func TestCheckinAfterClose(t *testing.T) {
	db, err := Open(t.Context(), t.TempDir()+"/licensor.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := licensor.WithTenant(t.Context(), "ten_x")
	done := make(chan error, 1)
	go func() {
		_, err := db.Checkin(ctx, licensor.Checkin{ContractID: "con_x", InstanceID: "i-1", Now: time.Now()})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Checkin on a closed store: got no error, want one")
		}
	case <-time.After(time.Minute):
		t.Fatal("Checkin on a closed store did not return")
	}
}
