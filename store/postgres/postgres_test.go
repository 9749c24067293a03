package postgres_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store/postgres"
	"github.com/licensor/licensor/store/storetest"
)

func TestConformance(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) licensor.Store { return pgtest.Open(t) })
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	url, schema := pgtest.Schema(t)
	db, err := postgres.Open(ctx, url, postgres.WithSchema(schema))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ten := &licensor.Tenant{Name: "Acme", ConcurrencyLimit: 60, ExpiryWarning: licensor.DefaultExpiryWarning}
	if err := db.CreateTenant(ctx, ten); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	db.Close()
	db = pgtest.OpenSchema(t, url, schema)
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
	if want := postgres.LatestVersion(); v != want || want == 0 {
		t.Errorf("SchemaVersion: got %d, want %d (and not 0)", v, want)
	}
}

func TestOpenConcurrently(t *testing.T) {
	// Servers starting together on an empty database: the advisory lock
	// makes one migrate and the others find nothing to do.
	url, schema := pgtest.Schema(t)
	const n = 6
	errs := make([]error, n)
	dbs := make([]*postgres.DB, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = postgres.Open(context.Background(), url, postgres.WithSchema(schema))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: got error %v, want none", i, err)
			continue
		}
		v, err := dbs[i].SchemaVersion(context.Background())
		if err != nil || v != postgres.LatestVersion() {
			t.Errorf("Open %d: SchemaVersion got %d, %v, want %d", i, v, err, postgres.LatestVersion())
		}
		dbs[i].Close()
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	url, schema := pgtest.Schema(t)
	db := pgtest.OpenSchema(t, url, schema)
	if _, err := db.Pool().Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatalf("insert a future migration: %v", err)
	}
	for _, tc := range []struct {
		name string
		opts []postgres.Option
	}{
		{"Migrate", nil},
		{"WithoutMigrate", []postgres.Option{postgres.WithoutMigrate()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db2, err := postgres.Open(ctx, url, append(tc.opts, postgres.WithSchema(schema))...)
			if err == nil {
				db2.Close()
				t.Fatalf("Open of a database from the future: got no error, want one")
			}
			if !strings.Contains(err.Error(), "9999") || !strings.Contains(err.Error(), "newer") {
				t.Errorf("Open: got error %q, want one saying the schema version 9999 is newer", err)
			}
		})
	}
}

func TestWithoutMigrateRefusesAnOldSchema(t *testing.T) {
	url, schema := pgtest.Schema(t)
	db, err := postgres.Open(context.Background(), url, postgres.WithSchema(schema), postgres.WithoutMigrate())
	if err == nil {
		db.Close()
		t.Fatalf("Open without migrating an empty schema: got no error, want one")
	}
	if !strings.Contains(err.Error(), "licensor migrate") {
		t.Errorf("Open: got error %q, want one that says to run licensor migrate", err)
	}
	// Nothing was created: a migration that is refused applies nothing.
	db = pgtest.OpenSchema(t, url, schema)
	if v, err := db.SchemaVersion(context.Background()); err != nil || v != postgres.LatestVersion() {
		t.Errorf("SchemaVersion after migrating: got %d, %v, want %d", v, err, postgres.LatestVersion())
	}
}

func TestOpenBadURL(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"Garbage", "postgres://user:s3cret@[::1"},
		{"Unreachable", "postgres://user:s3cret@127.0.0.1:1/db?connect_timeout=2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := postgres.Open(context.Background(), tc.url)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q): got no error, want one", tc.url)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Open: got error %q, which shows the password", err)
			}
		})
	}
}

func TestAuditAppendOnly(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	e := &licensor.AuditEntry{At: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), ActorRole: licensor.RoleOperator, Action: "tenant.create", ObjectType: "tenant", ObjectID: "ten_1"}
	if err := db.AppendAudit(ctx, e); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	for _, q := range []string{
		`UPDATE audit_log SET action = 'forged' WHERE id = $1`,
		`DELETE FROM audit_log WHERE id = $1`,
	} {
		if _, err := db.Pool().Exec(ctx, q, e.ID); err == nil {
			t.Errorf("%s: got no error, want the trigger to refuse it", q)
		}
	}
	if _, err := db.Pool().Exec(ctx, `TRUNCATE audit_log`); err == nil {
		t.Errorf("TRUNCATE audit_log: got no error, want the trigger to refuse it")
	}
}

// TestErrorsLeakNoSQL checks that a constraint failure reaches the caller
// as a domain code with a message of the store's own words.
func TestErrorsLeakNoSQL(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	ten := &licensor.Tenant{Name: "Acme", ConcurrencyLimit: 60}
	if err := db.CreateTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	sc := licensor.WithTenant(ctx, ten.ID)
	if err := db.CreateProduct(sc, &licensor.Product{Name: "Suite"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"DuplicateTenant", db.CreateTenant(ctx, &licensor.Tenant{ID: ten.ID, Name: "x", ConcurrencyLimit: 1}), licensor.ECONFLICT},
		{"DuplicateName", db.CreateProduct(sc, &licensor.Product{Name: "Suite"}), licensor.ECONFLICT},
		{"UnknownProduct", db.CreateFeature(sc, &licensor.Feature{ProductID: "prd_nope", Name: "x", Kind: licensor.FeatureBoolean}), licensor.ENOTFOUND},
		{"UnknownTenant", db.CreateCustomer(licensor.WithTenant(ctx, "ten_nope"), &licensor.Customer{Name: "x"}), licensor.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := licensor.ErrorCode(tc.err); got != tc.code {
				t.Fatalf("got error %v (code %q), want code %q", tc.err, got, tc.code)
			}
			msg := licensor.ErrorMessage(tc.err)
			for _, leak := range []string{"violates", "constraint", "SQLSTATE", "duplicate key", "_pkey", "_fk"} {
				if strings.Contains(msg, leak) {
					t.Errorf("message %q contains driver text %q", msg, leak)
				}
			}
		})
	}
}

func TestUnavailableIsRetryable(t *testing.T) {
	db := pgtest.Open(t)
	db.Close() // a closed pool stands in for a database that went away
	_, err := db.GetTenant(context.Background(), "ten_x")
	if code := licensor.ErrorCode(err); code != licensor.EUNAVAILABLE && code != licensor.EINTERNAL {
		t.Errorf("GetTenant on a closed store: got %v (code %q), want unavailable or internal", err, code)
	}
	if msg := licensor.ErrorMessage(err); strings.Contains(msg, "closed pool") {
		t.Errorf("message %q leaks the driver's text", msg)
	}
}

func TestCheckinSameNewInstanceAcrossStores(t *testing.T) {
	// The same new instance checks in through three servers' stores at
	// once: one seat is taken, every call succeeds (the losers of the
	// insert race run again and refresh).
	url, schema := pgtest.Schema(t)
	stores := []*postgres.DB{pgtest.OpenSchema(t, url, schema), pgtest.OpenSchema(t, url, schema), pgtest.OpenSchema(t, url, schema)}
	ctx, contractID := seedContract(t, stores[0], 3)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make([]error, 30)
		start := make(chan struct{})
		for i := range errs {
			wg.Go(func() {
				<-start
				_, errs[i] = stores[i%len(stores)].Checkin(ctx, licensor.Checkin{
					ContractID: contractID, InstanceID: fmt.Sprintf("node-%d", round), TakesSeat: true,
					Now: now, LicenseID: licensor.NewID(licensor.PrefixLicense), LicenseExpiresAt: now.Add(time.Hour),
				})
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil && round < 3 {
				t.Errorf("round %d, check-in %d: got error %v, want none", round, i, err)
			}
			if round >= 3 && licensor.ErrorCode(err) != licensor.EEXHAUSTED {
				t.Errorf("round %d, check-in %d: got error %v, want code %q (3 seats, 3 taken)", round, i, err, licensor.EEXHAUSTED)
			}
		}
		c, err := stores[1].GetContract(ctx, contractID)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(round+1, 3); c.SeatsUsed != want {
			t.Errorf("round %d: SeatsUsed got %d, want %d", round, c.SeatsUsed, want)
		}
	}
}

// seedContract creates a tenant, customer, product and a contract with
// seats, and returns the scoped context and the contract id.
func seedContract(t testing.TB, s licensor.Store, seats int) (context.Context, string) {
	t.Helper()
	ten := &licensor.Tenant{Name: "Acme", ConcurrencyLimit: 60}
	must(t, s.CreateTenant(context.Background(), ten))
	ctx := licensor.WithTenant(context.Background(), ten.ID)
	cu := &licensor.Customer{Name: "Initech"}
	must(t, s.CreateCustomer(ctx, cu))
	p := &licensor.Product{Name: "Suite"}
	must(t, s.CreateProduct(ctx, p))
	c := &licensor.Contract{CustomerID: cu.ID, ProductID: p.ID, StartsAt: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), MaxSeats: seats}
	must(t, c.Validate())
	must(t, s.CreateContract(ctx, c))
	return ctx, c.ID
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
}

// TestOpenWithRowPrivilegesOnly: a server whose database role may read
// and write rows but not create tables starts on a database that
// `licensor migrate` (as the schema's owner) has brought up to date, and
// works; it is refused, with the command to run, when a migration is
// pending.
func TestOpenWithRowPrivilegesOnly(t *testing.T) {
	url, schema := pgtest.Schema(t)
	owner := pgtest.OpenSchema(t, url, schema)
	rows := rowsOnlyRole(t, owner, url, schema)
	ctx := context.Background()
	db, err := postgres.Open(ctx, rows)
	if err != nil {
		t.Fatalf("Open as a role without DDL rights: %v", err)
	}
	defer db.Close()
	cctx, contract := seedContract(t, db, 3)
	if _, err := db.Checkin(cctx, licensor.Checkin{ContractID: contract, InstanceID: "i-1", TakesSeat: true,
		Now: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), LicenseID: "lic", LicenseExpiresAt: time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatalf("Checkin as that role: %v", err)
	}
	if _, err := owner.Pool().Exec(ctx, `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	if db, err := postgres.Open(ctx, rows); err == nil {
		db.Close()
		t.Fatal("Open as that role with a migration pending: got no error, want one")
	}
}

// TestMigrationsMirrorSQLite: every schema change of the SQLite store has
// its PostgreSQL twin under the same name, so both stores are at the same
// version with the same meaning.
func TestMigrationsMirrorSQLite(t *testing.T) {
	names := func(dir string) []string {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("read %s: %v", dir, err)
		}
		var out []string
		for _, e := range es {
			if strings.HasSuffix(e.Name(), ".sql") {
				out = append(out, e.Name())
			}
		}
		return out
	}
	got, want := names("migrations"), names("../sqlite/migrations")
	if !slices.Equal(got, want) {
		t.Errorf("store/postgres/migrations: got %v, want the same names as store/sqlite/migrations %v", got, want)
	}
}

// TestRefreshDurability: refreshes skip the WAL flush unless asked not to;
// every other write waits for it.
func TestRefreshDurability(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name          string
		opts          []postgres.Option
		refresh, rest string
	}{
		{"Default", nil, "off", "on"},
		{"WithDurableRefresh", []postgres.Option{postgres.WithDurableRefresh()}, "on", "on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := pgtest.Open(t, tc.opts...)
			got, err := db.RelaxedSetting(ctx)
			if err != nil || got != tc.refresh {
				t.Errorf("synchronous_commit of refreshes: got %q (%v), want %q", got, err, tc.refresh)
			}
			var rest string
			if err := db.Pool().QueryRow(ctx, `SHOW synchronous_commit`).Scan(&rest); err != nil || rest != tc.rest {
				t.Errorf("synchronous_commit of other writes: got %q (%v), want %q", rest, err, tc.rest)
			}
		})
	}
}
