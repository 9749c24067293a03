// Package pgtest gives tests a private PostgreSQL schema on the database
// named by LICENSOR_TEST_POSTGRES, and skips them with one line saying how
// to enable them when it is unset. Each call makes a new schema that is
// dropped when the test ends, so tests run in parallel and leave nothing
// behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/store/postgres"
)

// EnvURL is the variable that names the test database.
const EnvURL = "LICENSOR_TEST_POSTGRES"

// URL returns the test database URL, or skips the test.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Skip("set " + EnvURL + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run the PostgreSQL suite; .ci/run does")
	}
	return url
}

// Schema creates an empty schema for the test and drops it (with
// everything in it) when the test ends, after the stores opened on it are
// closed. It returns the database URL and the schema name.
func Schema(t testing.TB) (url, schema string) {
	t.Helper()
	url = URL(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema = "licensor_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return url, schema
}

// Open opens a store on a new schema of its own; it is closed, and the
// schema dropped, when the test ends.
func Open(t testing.TB, opts ...postgres.Option) *postgres.DB {
	t.Helper()
	url, schema := Schema(t)
	return OpenSchema(t, url, schema, opts...)
}

// OpenSchema opens another store on an existing schema (several servers on
// one database); it is closed when the test ends.
func OpenSchema(t testing.TB, url, schema string, opts ...postgres.Option) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("postgres.Open: got error %v, want none", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: got error %v, want none", err)
		}
	})
	return db
}

// SchemaURL returns url with search_path=schema added, for code that takes
// only a URL (the serve and migrate commands).
func SchemaURL(url, schema string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// Main runs a package's tests; call it from the package's TestMain. With
// LICENSOR_TEST_POSTGRES unset it first says, in one line, that the
// package's PostgreSQL tests skip. go test ./... shows nothing of a passing
// package but its ok line, so the line goes to the terminal go test runs
// in, or to stderr when there is none (shown with -v, or if the package
// fails).
func Main(m *testing.M) {
	if os.Getenv(EnvURL) == "" {
		announceSkip()
	}
	os.Exit(m.Run())
}

func announceSkip() {
	pkg := "this package"
	if wd, err := os.Getwd(); err == nil { // go test runs a package's tests in its directory
		pkg = filepath.Base(wd)
	}
	msg := fmt.Sprintf("%s: PostgreSQL tests skipped; set %s=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run them (.ci/run does)\n", pkg, EnvURL)
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		_, _ = tty.WriteString(msg)
		return
	}
	fmt.Fprint(os.Stderr, msg)
}
