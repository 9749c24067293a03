package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
)

// TestPreviousBuildWrites: during a rolling upgrade past migration 0014,
// servers of the previous build write instances' times without their
// hours (an INSERT without the columns, an UPDATE of the times alone); the
// trigger of 0014 sets the hours, so this build's searches, which bound
// the hour before the time, find those instances where their times say.
func TestPreviousBuildWrites(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	tctx, c, hour := hourWorld(t, db)
	if _, err := db.Checkin(tctx, licensor.Checkin{ContractID: c.ID, InstanceID: "a", TakesSeat: true, Host: "h",
		Now: hour, LicenseID: "lic", LicenseExpiresAt: hour.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	later := hour.Add(2*time.Hour + 10*time.Minute).UnixMicro()
	for _, q := range []string{
		`UPDATE instances SET last_seen_at = $1, license_expires_at = $1 WHERE tenant_id = $2 AND contract_id = $3 AND instance_id = 'a'`,
		`INSERT INTO instances (tenant_id, contract_id, instance_id, seat, environment, host, remote_addr, first_seen_at,
			last_seen_at, license_id, license_expires_at, clone_suspected_at)
			VALUES ($2, $3, 'b', TRUE, 'production', 'h', '', $1, $1, 'lic', $1, 0)`,
	} {
		if _, err := db.Pool().Exec(ctx, q, later, c.TenantID, c.ID); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	is, _, err := db.SearchInstances(tctx, licensor.InstanceSearch{SeenSince: hour.Add(2 * time.Hour), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range is {
		got = append(got, i.ID)
	}
	if strings.Join(got, " ") != "b a" {
		t.Errorf("instances seen since 2:00: got %q, want %q", strings.Join(got, " "), "b a")
	}
	exp, err := db.ExpiringInstances(tctx, hour, hour.Add(2*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 0 {
		t.Errorf("instances expiring before 2:00: got %d, want none", len(exp))
	}
}
