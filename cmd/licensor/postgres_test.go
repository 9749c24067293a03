package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store/postgres"
)

func newMasterKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// startPostgresMain starts a server on the shared database db; with a
// peer, it uses the peer's TLS certificate (as replicas behind one name do).
func startPostgresMain(t *testing.T, db string, demo bool, peer ...*Main) (*Main, error) {
	t.Helper()
	m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: t.TempDir(), DB: db, Demo: demo}, Out: &bytes.Buffer{}}
	if len(peer) > 0 {
		m.Config.TLSCert = filepath.Join(peer[0].Config.Data, "tls-cert.pem")
		m.Config.TLSKey = filepath.Join(peer[0].Config.Data, "tls-key.pem")
	}
	err := m.Start(context.Background())
	t.Cleanup(func() { _ = m.Close() })
	return m, err
}

// TestServePostgres: two servers with the same master key on one database
// serve the same tenants: a demo made through one gets licenses from the
// other (its keys come from the shared store).
func TestServePostgres(t *testing.T) {
	url, schema := pgtest.Schema(t)
	db := pgtest.SchemaURL(url, schema)
	t.Setenv("LICENSOR_MASTER_KEY", newMasterKey(t))
	a, err := startPostgresMain(t, db, true)
	if err != nil {
		t.Fatalf("start server A: %v", err)
	}
	b, err := startPostgresMain(t, db, false, a)
	if err != nil {
		t.Fatalf("start server B: %v", err)
	}
	d := a.Demo
	lc := licensorv1connect.NewLicenseServiceClient(demoClient(t, d), "https://"+b.Addr(), connect.WithGRPC(),
		connect.WithInterceptors(bearer.Token(d.Token)))
	res, err := lc.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: d.ContractID, InstanceId: "pg-1"}))
	if err != nil {
		t.Fatalf("GetLicense through server B with server A's demo: got error %v, want none", err)
	}
	if res.Msg.License.GetToken() == "" {
		t.Fatal("GetLicense: got an empty license")
	}
}

func TestServePostgresRefusesAnotherMasterKey(t *testing.T) {
	url, schema := pgtest.Schema(t)
	db := pgtest.SchemaURL(url, schema)
	t.Setenv("LICENSOR_MASTER_KEY", newMasterKey(t))
	if _, err := startPostgresMain(t, db, true); err != nil {
		t.Fatalf("start server A: %v", err)
	}
	t.Setenv("LICENSOR_MASTER_KEY", newMasterKey(t))
	_, err := startPostgresMain(t, db, false)
	if err == nil || !strings.Contains(err.Error(), "LICENSOR_MASTER_KEY") {
		t.Fatalf("start server B with another master key: got error %v, want one naming LICENSOR_MASTER_KEY", err)
	}
}

func TestServeBadDB(t *testing.T) {
	for _, db := range []string{"mysql://root@localhost/licensor", "licensor.db"} {
		_, err := startPostgresMain(t, db, false)
		if err == nil || !strings.Contains(err.Error(), "--db") {
			t.Errorf("serve --db %q: got error %v, want one about --db", db, err)
		}
	}
}

func TestMigrateCommand(t *testing.T) {
	url, schema := pgtest.Schema(t)
	db := pgtest.SchemaURL(url, schema)
	var out bytes.Buffer
	cmd := &MigrateCmd{DB: db}
	if err := cmd.migrate(context.Background(), &out); err != nil {
		t.Fatalf("migrate: got error %v, want none", err)
	}
	if got := out.String(); !strings.Contains(got, "from schema version 0 to") {
		t.Errorf("first migrate: got %q, want it to say it migrated from version 0", got)
	}
	out.Reset()
	if err := cmd.migrate(context.Background(), &out); err != nil {
		t.Fatalf("migrate again: got error %v, want none", err)
	}
	if got := out.String(); !strings.Contains(got, "nothing to apply") {
		t.Errorf("second migrate: got %q, want it to say there was nothing to apply", got)
	}
	// A server that must not migrate by itself now opens it.
	st, err := postgres.Open(context.Background(), db, postgres.WithoutMigrate())
	if err != nil {
		t.Fatalf("Open without migrating after licensor migrate: got error %v, want none", err)
	}
	st.Close()

	for _, bad := range []string{"mysql://x", "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=2"} {
		err := (&MigrateCmd{DB: bad}).migrate(context.Background(), &out)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("migrate --db %q: got error %v, want one that does not show the password", bad, err)
		}
	}
}

// TestServeDurableRefresh: --durable-refresh serves from PostgreSQL with
// refreshes waiting for the flush, and is refused for the embedded store,
// which has no such choice.
func TestServeDurableRefresh(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: t.TempDir(), DurableRefresh: true}, Out: &bytes.Buffer{}}
		err := m.Start(context.Background())
		t.Cleanup(func() { _ = m.Close() })
		if err == nil || !strings.Contains(err.Error(), "--durable-refresh applies to a PostgreSQL --db only") {
			t.Fatalf("Start: got %v, want the --durable-refresh refusal", err)
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url, schema := pgtest.Schema(t)
		t.Setenv("LICENSOR_MASTER_KEY", newMasterKey(t))
		m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: t.TempDir(), DB: pgtest.SchemaURL(url, schema), Demo: true, DurableRefresh: true}, Out: &bytes.Buffer{}}
		if err := m.Start(context.Background()); err != nil {
			t.Fatalf("Start: %v", err)
		}
		t.Cleanup(func() { _ = m.Close() })
		d := m.Demo
		lc := licensorv1connect.NewLicenseServiceClient(demoClient(t, d), "https://"+m.Addr(), connect.WithGRPC(),
			connect.WithInterceptors(bearer.Token(d.Token)))
		for range 2 { // a new instance, then a refresh: the durable path
			if _, err := lc.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: d.ContractID, InstanceId: "durable-1"})); err != nil {
				t.Fatalf("GetLicense: %v", err)
			}
		}
	})
}
