package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// TestSearchInstancesPlan: every filter of the console's instance search
// walks the instances_seen index in its order (no sort of the tenant's
// instances, so a page costs its rows however many instances there are),
// except a contract filter, which SQLite may serve by the primary key's
// contract range and sort that contract's instances.
func TestSearchInstancesPlan(t *testing.T) {
	db, _ := openTemp(t)
	for _, tc := range []struct {
		name    string
		s       licensor.InstanceSearch
		indexes []string // any of these
		// sorted: the plan may sort what the index found (a prefix range
		// across contracts: only the matching instances are sorted).
		sorted bool
	}{
		{"All", licensor.InstanceSearch{}, []string{"instances_seen"}, false},
		{"Cursor", licensor.InstanceSearch{Cursor: "MTAgY29uX2EgaQ"}, []string{"instances_seen"}, false},
		{"SeenRange", licensor.InstanceSearch{SeenSince: time.Unix(10, 0), SeenBefore: time.Unix(20, 0)}, []string{"instances_seen"}, false},
		{"Prefix", licensor.InstanceSearch{IDPrefix: "web-"}, []string{"instances_id"}, true},
		{"Version", licensor.InstanceSearch{ProductVersion: "1.0"}, []string{"instances_seen"}, false},
		{"Customer", licensor.InstanceSearch{CustomerID: "cus_a"}, []string{"instances_seen"}, false},
		{"Contract", licensor.InstanceSearch{ContractID: "con_a"}, []string{"instances_contract_seen"}, false},
		{"ContractCursor", licensor.InstanceSearch{ContractID: "con_a", Cursor: "MTAgY29uX2EgaQ"}, []string{"instances_contract_seen"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Limit = 100
			q, args, err := store.SearchInstancesQuery(dialect, "ten_a", tc.s)
			if err != nil {
				t.Fatal(err)
			}
			all := explain(t, db, q, args...)
			t.Logf("plan: %s", all)
			found := false
			for _, ix := range tc.indexes {
				if strings.Contains(all, "SEARCH instances USING") && strings.Contains(all, ix) {
					found = true
				}
			}
			if !found {
				t.Errorf("plan %q: want a SEARCH of instances using one of %v", all, tc.indexes)
			}
			if strings.Contains(all, "SCAN instances") {
				t.Errorf("plan %q: scans instances", all)
			}
			if !tc.sorted && strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("plan %q: sorts the instances, want them in index order", all)
			}
		})
	}
}

// TestActiveInstancesPlan: the dashboard's count of instances holding an
// unexpired license reads instances_license_expiry, both the hours after
// now's (from the index alone) and now's hour (then the rows), never the
// tenant's whole table.
func TestActiveInstancesPlan(t *testing.T) {
	db, _ := openTemp(t)
	q, args := store.ActiveInstancesQuery("ten_a", time.Unix(1893553800, 0))
	all := explain(t, db, q, args...)
	t.Logf("plan: %s", all)
	if got := strings.Count(all, "SEARCH instances USING COVERING INDEX instances_license_expiry"); got != 1 {
		t.Errorf("plan %q: got %d covering searches of instances_license_expiry, want 1 (the later hours)", all, got)
	}
	if got := strings.Count(all, "SEARCH instances USING INDEX instances_license_expiry"); got != 1 {
		t.Errorf("plan %q: got %d searches of instances_license_expiry reading rows, want 1 (now's hour)", all, got)
	}
	if strings.Contains(all, "PRIMARY KEY") || strings.Contains(all, "SCAN instances") {
		t.Errorf("plan %q: walks the tenant's instances", all)
	}
}

// explain returns the details of SQLite's EXPLAIN QUERY PLAN of q, joined
// by "; ".
func explain(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.r.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}
