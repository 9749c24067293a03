package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"migrations/0002_pools.sql": {Data: []byte("B")},
		"migrations/0001_core.sql":  {Data: []byte("A")},
		"migrations/README":         {},
	})
	if err != nil {
		t.Fatalf("Load: got error %v, want none", err)
	}
	want := []Migration{{1, "0001_core.sql", "A"}, {2, "0002_pools.sql", "B"}}
	if !slices.Equal(ms, want) {
		t.Errorf("Load: got %v, want %v", ms, want)
	}
	if got := Latest(ms); got != 2 {
		t.Errorf("Latest: got %d, want 2", got)
	}
	if got := Latest(nil); got != 0 {
		t.Errorf("Latest of none: got %d, want 0", got)
	}
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
	}{
		{"BadName", fstest.MapFS{"migrations/2_pools.sql": {}}},
		{"Duplicate", fstest.MapFS{"migrations/0002_a.sql": {}, "migrations/0002_b.sql": {}}},
		{"Zero", fstest.MapFS{"migrations/0000_a.sql": {}}},
	} {
		if _, err := Load(tc.files); err == nil {
			t.Errorf("%s: got no error, want one", tc.name)
		}
	}
}

// fakeTx records the statements run and answers the version query from
// what was recorded, failing the statement named fail; schema_migrations
// exists once there is a version, or when exists says so.
type fakeTx struct {
	version int
	exists  bool
	ran     []string
	fail    string
}

const insertMigration = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`

func (f *fakeTx) Exec(_ context.Context, query string, args ...any) (int64, error) {
	if query == f.fail {
		return 0, errors.New("syntax error")
	}
	if query == insertMigration {
		f.version = args[0].(int)
		query = "INSERT"
	}
	if query == testDialect.MigrationsTable {
		f.exists = true
	}
	f.ran = append(f.ran, query)
	return 1, nil
}

func (f *fakeTx) Query(context.Context, string, ...any) (Rows, error) {
	return nil, errors.New("not used")
}

func (f *fakeTx) QueryRow(_ context.Context, query string, _ ...any) Row {
	if query == testDialect.MigrationsExist {
		return existsRow(f.exists || f.version > 0)
	}
	return versionRow(f.version)
}

// existsRow is whether schema_migrations exists.
type existsRow bool

func (e existsRow) Scan(dest ...any) error {
	*dest[0].(*bool) = bool(e)
	return nil
}

// versionRow is MAX(version) of schema_migrations.
type versionRow int

func (v versionRow) Scan(dest ...any) error {
	return dest[0].(*sql.NullInt64).Scan(int64(v))
}

var testDialect = &Dialect{MigrationsTable: "CREATE", MigrationsExist: "EXISTS"}

var testMigrations = []Migration{{1, "0001_a.sql", "A"}, {2, "0002_b.sql", "B"}, {3, "0003_c.sql", "C"}}

func TestRun(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		version     int
		apply       bool
		fail        string
		wantApplied []string
		wantRan     []string
		wantErr     string
	}{
		{"Empty", 0, true, "", []string{"0001_a.sql", "0002_b.sql", "0003_c.sql"},
			[]string{"CREATE", "A", "INSERT", "B", "INSERT", "C", "INSERT"}, ""},
		// Where schema_migrations exists nothing creates it again: a role
		// that may not create tables can start.
		{"Pending", 2, true, "", []string{"0003_c.sql"}, []string{"C", "INSERT"}, ""},
		{"Current", 3, true, "", nil, nil, ""},
		{"CurrentCheckOnly", 3, false, "", nil, nil, ""},
		{"Newer", 9999, true, "", nil, nil, "schema version 9999 is newer than this build of licensor knows (3)"},
		{"NewerCheckOnly", 9999, false, "", nil, nil, "newer"},
		{"OlderCheckOnly", 1, false, "", nil, nil, "run `licensor migrate --db ...` first"},
		{"EmptyCheckOnly", 0, false, "", nil, []string{"CREATE"}, "run `licensor migrate --db ...` first"},
		{"Failing", 1, true, "C", nil, []string{"B", "INSERT"}, "migration 0003_c.sql: syntax error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := &fakeTx{version: tc.version, fail: tc.fail}
			from, applied, err := runMigrations(ctx, tx, testDialect, testMigrations, tc.apply)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Run: got error %v, want none", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Run: got error %v, want one containing %q", err, tc.wantErr)
			}
			if err == nil && from != tc.version {
				t.Errorf("from: got %d, want %d", from, tc.version)
			}
			if !slices.Equal(applied, tc.wantApplied) {
				t.Errorf("applied: got %v, want %v", applied, tc.wantApplied)
			}
			if !slices.Equal(tx.ran, tc.wantRan) {
				t.Errorf("statements: got %v, want %v", tx.ran, tc.wantRan)
			}
		})
	}
}
