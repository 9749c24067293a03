package service

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func ptr[T any](v T) *T { return &v }

// The operator sets each tenant's ceilings; its admin may set its limit and
// queue wait only up to them. Each step runs as the admin or the operator
// on a fresh tenant (limit 60 of 60, wait 0 of 1s).
func TestTenantCeilings(t *testing.T) {
	type step struct {
		operator bool
		u        TenantUpdate
		code     string // "" for success
		msg      string // in the error message
		limit    int
		ceiling  int
		wait     time.Duration
		waitCeil time.Duration
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"AdminLowersLimit", []step{
			{u: TenantUpdate{ConcurrencyLimit: ptr(10), QueueWait: ptr(500 * time.Millisecond)}, limit: 10, ceiling: 60, wait: 500 * time.Millisecond, waitCeil: time.Second},
		}},
		{"AdminSetsLimitAtCeiling", []step{
			{u: TenantUpdate{ConcurrencyLimit: ptr(60), QueueWait: ptr(time.Second)}, limit: 60, ceiling: 60, wait: time.Second, waitCeil: time.Second},
		}},
		{"AdminRaisesLimitPastCeiling", []step{
			{u: TenantUpdate{ConcurrencyLimit: ptr(100000)}, code: licensor.EFORBIDDEN, msg: "ceiling of 60; the server operator sets the ceiling"},
		}},
		{"AdminRaisesWaitPastCeiling", []step{
			{u: TenantUpdate{QueueWait: ptr(5 * time.Second)}, code: licensor.EFORBIDDEN, msg: "ceiling of 1s; the server operator sets the ceiling"},
		}},
		{"AdminSetsCeiling", []step{
			{u: TenantUpdate{ConcurrencyCeiling: ptr(1000)}, code: licensor.EFORBIDDEN, msg: "only the server operator"},
			{u: TenantUpdate{QueueWaitCeiling: ptr(5 * time.Second)}, code: licensor.EFORBIDDEN, msg: "only the server operator"},
		}},
		{"OperatorRaisesCeilingThenAdminRaisesLimit", []step{
			{operator: true, u: TenantUpdate{ConcurrencyCeiling: ptr(200), QueueWaitCeiling: ptr(3 * time.Second)}, limit: 60, ceiling: 200, waitCeil: 3 * time.Second},
			{u: TenantUpdate{ConcurrencyLimit: ptr(150), QueueWait: ptr(3 * time.Second)}, limit: 150, ceiling: 200, wait: 3 * time.Second, waitCeil: 3 * time.Second},
			{u: TenantUpdate{ConcurrencyLimit: ptr(201)}, code: licensor.EFORBIDDEN, msg: "ceiling of 200"},
		}},
		{"OperatorLowersCeilingBelowLimitClamps", []step{
			{operator: true, u: TenantUpdate{QueueWait: ptr(time.Second)}, limit: 60, ceiling: 60, wait: time.Second, waitCeil: time.Second},
			{operator: true, u: TenantUpdate{ConcurrencyCeiling: ptr(20), QueueWaitCeiling: ptr(200 * time.Millisecond)}, limit: 20, ceiling: 20, wait: 200 * time.Millisecond, waitCeil: 200 * time.Millisecond},
		}},
		{"OperatorLowersCeilingAndSetsLimitBelow", []step{
			{operator: true, u: TenantUpdate{ConcurrencyCeiling: ptr(20), ConcurrencyLimit: ptr(5)}, limit: 5, ceiling: 20, waitCeil: time.Second},
		}},
		{"OperatorNamesLimitAboveNewCeiling", []step{
			{operator: true, u: TenantUpdate{ConcurrencyCeiling: ptr(20), ConcurrencyLimit: ptr(30)}, code: licensor.EINVALID, msg: "raise the ceiling too"},
		}},
		{"OperatorSetsLimitAboveCeilingLiftsIt", []step{
			{operator: true, u: TenantUpdate{ConcurrencyLimit: ptr(500), QueueWait: ptr(3 * time.Second)}, limit: 500, ceiling: 500, wait: 3 * time.Second, waitCeil: 3 * time.Second},
			{u: TenantUpdate{ConcurrencyLimit: ptr(100)}, limit: 100, ceiling: 500, wait: 3 * time.Second, waitCeil: 3 * time.Second},
			{u: TenantUpdate{ConcurrencyLimit: ptr(500)}, limit: 500, ceiling: 500, wait: 3 * time.Second, waitCeil: 3 * time.Second},
		}},
		{"OperatorLimitPastMax", []step{
			{operator: true, u: TenantUpdate{ConcurrencyLimit: ptr(licensor.MaxConcurrencyLimit + 1)}, code: licensor.EINVALID, msg: "between 1 and 100000"},
			{operator: true, u: TenantUpdate{QueueWait: ptr(licensor.MaxQueueWait + time.Millisecond)}, code: licensor.EINVALID, msg: "queue wait"},
		}},
		{"OperatorCeilingOutOfRange", []step{
			{operator: true, u: TenantUpdate{ConcurrencyCeiling: ptr(licensor.MaxConcurrencyLimit + 1)}, code: licensor.EINVALID, msg: "between 1 and 100000"},
			{operator: true, u: TenantUpdate{ConcurrencyCeiling: ptr(0)}, code: licensor.EINVALID, msg: "at least 1"},
			{operator: true, u: TenantUpdate{QueueWaitCeiling: ptr(6 * time.Second)}, code: licensor.EINVALID, msg: "queue wait ceiling"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for i, st := range tc.steps {
				ctx, id := f.admin, ""
				if st.operator {
					ctx, id = f.op, f.tenantID
				}
				got, err := f.svc.UpdateTenant(ctx, id, st.u)
				if st.code != "" {
					wantCode(t, fmt.Sprintf("step %d", i+1), err, st.code)
					if !strings.Contains(licensor.ErrorMessage(err), st.msg) {
						t.Errorf("step %d: got message %q, want it to say %q", i+1, licensor.ErrorMessage(err), st.msg)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: UpdateTenant: %v", i+1, err)
				}
				stored, err := f.svc.GetTenant(f.admin, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range []*licensor.Tenant{got, stored} {
					if x.ConcurrencyLimit != st.limit || x.ConcurrencyCeiling != st.ceiling || x.QueueWait != st.wait || x.QueueWaitCeiling != st.waitCeil {
						t.Errorf("step %d: got limit %d of %d, wait %s of %s; want %d of %d, %s of %s", i+1,
							x.ConcurrencyLimit, x.ConcurrencyCeiling, x.QueueWait, x.QueueWaitCeiling, st.limit, st.ceiling, st.wait, st.waitCeil)
					}
				}
				// The limiter sees the change at once.
				limit, wait, err := f.svc.TenantLimits(f.tenantCtx(), f.tenantID)
				if err != nil || limit != st.limit || wait != st.wait {
					t.Errorf("step %d: TenantLimits: got %d, %s, %v; want %d, %s", i+1, limit, wait, err, st.limit, st.wait)
				}
			}
		})
	}
}

// A ceiling change is audited with the operator as the actor and the
// ceilings before and after.
func TestTenantCeilingAudited(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.UpdateTenant(f.op, f.tenantID, TenantUpdate{ConcurrencyCeiling: ptr(300)}); err != nil {
		t.Fatal(err)
	}
	es, err := f.svc.ListAudit(f.op, f.tenantID, licensor.AuditFilter{ObjectType: "tenant", ObjectID: f.tenantID})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range es {
		if e.Action != "tenant.update" {
			continue
		}
		found = true
		var before, after licensor.Tenant
		if err := json.Unmarshal(e.Before, &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(e.After, &after); err != nil {
			t.Fatal(err)
		}
		if e.ActorRole != licensor.RoleOperator || before.ConcurrencyCeiling != 60 || after.ConcurrencyCeiling != 300 {
			t.Errorf("audit entry: got %s, ceiling %d → %d; want operator, 60 → 300", e.ActorRole, before.ConcurrencyCeiling, after.ConcurrencyCeiling)
		}
	}
	if !found {
		t.Errorf("audit entries of the tenant: got %d without a tenant.update, want one", len(es))
	}
}

// CreateTenant fills the default ceilings, or lifts them to a higher limit
// the operator names, so that creating a busy tenant is one call.
func TestCreateTenantCeilings(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name              string
		in                licensor.Tenant
		limit, ceiling    int
		wait, waitCeiling time.Duration
		code              string
	}{
		{"Defaults", licensor.Tenant{Name: "Plain"}, 60, 60, 0, time.Second, ""},
		{"HighLimitLiftsCeiling", licensor.Tenant{Name: "Busy", ConcurrencyLimit: 500, QueueWait: 2 * time.Second}, 500, 500, 2 * time.Second, 2 * time.Second, ""},
		{"ExplicitCeiling", licensor.Tenant{Name: "Roomy", ConcurrencyCeiling: 1000, QueueWaitCeiling: 4 * time.Second}, 60, 1000, 0, 4 * time.Second, ""},
		{"LimitAboveCeiling", licensor.Tenant{Name: "Odd", ConcurrencyLimit: 100, ConcurrencyCeiling: 80}, 0, 0, 0, 0, licensor.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := f.svc.CreateTenant(f.op, tc.in, false)
			wantCode(t, "CreateTenant", err, tc.code)
			if tc.code != "" {
				return
			}
			stored, err := f.svc.GetTenant(f.op, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.ConcurrencyLimit != tc.limit || stored.ConcurrencyCeiling != tc.ceiling || stored.QueueWait != tc.wait || stored.QueueWaitCeiling != tc.waitCeiling {
				t.Errorf("got limit %d of %d, wait %s of %s; want %d of %d, %s of %s",
					stored.ConcurrencyLimit, stored.ConcurrencyCeiling, stored.QueueWait, stored.QueueWaitCeiling, tc.limit, tc.ceiling, tc.wait, tc.waitCeiling)
			}
		})
	}
}
