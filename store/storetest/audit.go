package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func testAudit(t *testing.T, open opener) {
	bg := context.Background()

	t.Run("AppendList", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		e := &licensor.AuditEntry{
			ID: licensor.NewID(licensor.PrefixAudit), TenantID: ten.ID, At: t0, ActorRole: licensor.RoleAdmin,
			TokenID: "tok_1", Action: "contract.extend", ObjectType: "contract", ObjectID: "con_1",
			Before: json.RawMessage(`{"ends_at":"2030-01-01T00:00:00Z","seats":3}`),
			After:  json.RawMessage(`{"ends_at":"2031-01-01T00:00:00Z","seats":3}`),
		}
		must(t, "AppendAudit", s.AppendAudit(ctx, e))
		created := &licensor.AuditEntry{
			ID: licensor.NewID(licensor.PrefixAudit), TenantID: ten.ID, At: at(time.Second), ActorRole: licensor.RoleOperator,
			TokenID: "tok_op", Action: "product.create", ObjectType: "product", ObjectID: "prd_1",
			After: json.RawMessage(`{"name":"Solver"}`),
		}
		must(t, "AppendAudit without a scope", s.AppendAudit(bg, created))
		got, err := s.ListAudit(ctx, licensor.AuditFilter{})
		must(t, "ListAudit", err)
		if len(got) != 2 {
			t.Fatalf("ListAudit: got %d entries, want 2", len(got))
		}
		checkAudit(t, "newest", got[0], created)
		checkAudit(t, "oldest", got[1], e)
	})

	t.Run("Filters", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		type spec struct {
			d                     time.Duration
			token, otype, oid, id string
		}
		specs := []spec{
			{0, "tok_a", "contract", "con_1", ""},
			{time.Minute, "tok_b", "contract", "con_2", ""},
			{2 * time.Minute, "tok_a", "product", "prd_1", ""},
			{3 * time.Minute, "tok_a", "contract", "con_1", ""},
			{3 * time.Minute, "tok_b", "token", "tok_9", ""}, // same time as the one before
			{4 * time.Minute, "tok_b", "contract", "con_1", ""},
		}
		for i := range specs {
			e := &licensor.AuditEntry{
				ID: licensor.NewID(licensor.PrefixAudit), TenantID: ten.ID, At: at(specs[i].d), ActorRole: licensor.RoleAdmin,
				TokenID: specs[i].token, Action: specs[i].otype + ".change", ObjectType: specs[i].otype, ObjectID: specs[i].oid,
			}
			must(t, "AppendAudit", s.AppendAudit(ctx, e))
			specs[i].id = e.ID
		}
		// want lists the entries selected by keep, newest first, ties by
		// id descending.
		want := func(keep func(spec) bool) []string {
			var kept []spec
			for _, sp := range specs {
				if keep(sp) {
					kept = append(kept, sp)
				}
			}
			slices.SortFunc(kept, func(a, b spec) int {
				if c := cmp.Compare(b.d, a.d); c != 0 {
					return c
				}
				return cmp.Compare(b.id, a.id)
			})
			return ids(kept, func(sp spec) string { return sp.id })
		}
		for _, tc := range []struct {
			name   string
			filter licensor.AuditFilter
			keep   func(spec) bool
		}{
			{"All", licensor.AuditFilter{}, func(spec) bool { return true }},
			{"Token", licensor.AuditFilter{TokenID: "tok_a"}, func(s spec) bool { return s.token == "tok_a" }},
			{"ObjectType", licensor.AuditFilter{ObjectType: "contract"}, func(s spec) bool { return s.otype == "contract" }},
			{"Object", licensor.AuditFilter{ObjectType: "contract", ObjectID: "con_1"}, func(s spec) bool { return s.oid == "con_1" }},
			{"Since", licensor.AuditFilter{Since: at(2 * time.Minute)}, func(s spec) bool { return s.d >= 2*time.Minute }},
			{"Until", licensor.AuditFilter{Until: at(3 * time.Minute)}, func(s spec) bool { return s.d < 3*time.Minute }},
			{"SinceUntil", licensor.AuditFilter{Since: at(time.Minute), Until: at(4 * time.Minute)},
				func(s spec) bool { return s.d >= time.Minute && s.d < 4*time.Minute }},
			{"TokenSince", licensor.AuditFilter{TokenID: "tok_b", Since: at(2 * time.Minute)},
				func(s spec) bool { return s.token == "tok_b" && s.d >= 2*time.Minute }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := func(e *licensor.AuditEntry) string { return e.ID }
				list := func(o licensor.ListOptions) ([]*licensor.AuditEntry, error) {
					f := tc.filter
					f.ListOptions = o
					return s.ListAudit(ctx, f)
				}
				w := want(tc.keep)
				checkPaging(t, "ListAudit by 2", 2, w, list, id, id)
				checkPaging(t, "ListAudit by 100", 100, w, list, id, id)
			})
		}
	})

	t.Run("OperatorLog", func(t *testing.T) {
		// The operator's log holds the entries of no tenant: no tenant's
		// list shows them, and only an unscoped ListOperatorAudit does.
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		entry := func(tenant string, d time.Duration, token, otype, oid string) *licensor.AuditEntry {
			e := &licensor.AuditEntry{ID: licensor.NewID(licensor.PrefixAudit), TenantID: tenant, At: at(d), ActorRole: licensor.RoleOperator,
				TokenID: token, Action: otype + ".create", ObjectType: otype, ObjectID: oid, After: json.RawMessage(`{"name":"x"}`)}
			must(t, "AppendAudit", s.AppendAudit(bg, e))
			return e
		}
		first := entry("", 0, "tok_op1", "token", "tok_2")
		mine := entry(ten.ID, time.Minute, "tok_op1", "tenant", ten.ID)
		second := entry("", 2*time.Minute, "tok_op2", "token", "tok_3")
		third := entry("", 3*time.Minute, "tok_op1", "token", "tok_4")

		got, err := s.ListAudit(ctx, licensor.AuditFilter{})
		must(t, "ListAudit", err)
		if len(got) != 1 {
			t.Fatalf("ListAudit of a tenant: got %d entries, want only its own", len(got))
		}
		checkAudit(t, "tenant's entry", got[0], mine)
		got, err = s.ListOperatorAudit(bg, licensor.AuditFilter{})
		must(t, "ListOperatorAudit", err)
		if len(got) != 3 {
			t.Fatalf("ListOperatorAudit: got %d entries, want 3", len(got))
		}
		checkAudit(t, "newest", got[0], third)
		checkAudit(t, "oldest", got[2], first)

		id := func(e *licensor.AuditEntry) string { return e.ID }
		list := func(f licensor.AuditFilter) func(o licensor.ListOptions) ([]*licensor.AuditEntry, error) {
			return func(o licensor.ListOptions) ([]*licensor.AuditEntry, error) {
				f.ListOptions = o
				return s.ListOperatorAudit(bg, f)
			}
		}
		checkPaging(t, "ListOperatorAudit by 2", 2, []string{third.ID, second.ID, first.ID}, list(licensor.AuditFilter{}), id, id)
		checkPaging(t, "ListOperatorAudit of a token", 1, []string{third.ID, first.ID}, list(licensor.AuditFilter{TokenID: "tok_op1"}), id, id)
		checkPaging(t, "ListOperatorAudit of an object", 10, []string{second.ID},
			list(licensor.AuditFilter{ObjectType: "token", ObjectID: "tok_3"}), id, id)
		checkPaging(t, "ListOperatorAudit since", 10, []string{third.ID, second.ID}, list(licensor.AuditFilter{Since: at(time.Minute)}), id, id)

		got, err = s.ListOperatorAudit(bg, licensor.AuditFilter{ListOptions: licensor.ListOptions{After: mine.ID}})
		must(t, "ListOperatorAudit after a tenant's entry", err)
		eq(t, "ListOperatorAudit after a tenant's entry: items", len(got), 0)
		got, err = s.ListAudit(ctx, licensor.AuditFilter{ListOptions: licensor.ListOptions{After: third.ID}})
		must(t, "ListAudit after an operator's entry", err)
		eq(t, "ListAudit after an operator's entry: items", len(got), 0)
		got, err = s.ListOperatorAudit(ctx, licensor.AuditFilter{})
		must(t, "ListOperatorAudit in a tenant scope", err)
		eq(t, "ListOperatorAudit in a tenant scope: items", len(got), 0)
		_, err = s.ListOperatorAudit(bg, licensor.AuditFilter{ListOptions: licensor.ListOptions{Limit: -1}})
		wantCode(t, "ListOperatorAudit with a negative limit", err, licensor.EINVALID)
	})

	t.Run("UnknownTenant", func(t *testing.T) {
		s := open(t)
		e := &licensor.AuditEntry{ID: licensor.NewID(licensor.PrefixAudit), TenantID: licensor.NewID(licensor.PrefixTenant),
			At: t0, ActorRole: licensor.RoleAdmin, Action: "x.y", ObjectType: "x", ObjectID: "x_1"}
		wantCode(t, "AppendAudit", s.AppendAudit(bg, e), licensor.ENOTFOUND)
	})
}

func checkAudit(t *testing.T, what string, got, want *licensor.AuditEntry) {
	t.Helper()
	eq(t, what+": ID", got.ID, want.ID)
	eq(t, what+": TenantID", got.TenantID, want.TenantID)
	checkTime(t, what+": At", got.At, want.At)
	eq(t, what+": ActorRole", got.ActorRole, want.ActorRole)
	eq(t, what+": TokenID", got.TokenID, want.TokenID)
	eq(t, what+": Action", got.Action, want.Action)
	eq(t, what+": ObjectType", got.ObjectType, want.ObjectType)
	eq(t, what+": ObjectID", got.ObjectID, want.ObjectID)
	jsonEqual(t, what+": Before", got.Before, want.Before)
	jsonEqual(t, what+": After", got.After, want.After)
}
