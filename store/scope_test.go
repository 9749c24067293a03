package store

import (
	"context"
	"testing"

	"github.com/licensor/licensor"
)

func TestClaim(t *testing.T) {
	scoped := licensor.WithTenant(context.Background(), "ten_a")
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		tenant   string
		wantCode string
		want     string
	}{
		{"Empty", scoped, "", "", "ten_a"},
		{"Own", scoped, "ten_a", "", "ten_a"},
		{"Other", scoped, "ten_b", licensor.ENOTFOUND, "ten_b"},
		{"NoScope", context.Background(), "ten_a", licensor.EINTERNAL, "ten_a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.tenant
			got, err := ClaimTenant(tc.ctx, &id)
			if code := licensor.ErrorCode(err); err != nil && code != tc.wantCode || err == nil && tc.wantCode != "" {
				t.Fatalf("Claim: got error %v, want code %q", err, tc.wantCode)
			}
			if err == nil && got != tc.want {
				t.Errorf("Claim: got tenant %q, want %q", got, tc.want)
			}
			if id != tc.want {
				t.Errorf("record's tenant: got %q, want %q", id, tc.want)
			}
		})
	}
	id := "ten_b"
	_, err := ClaimTenant(scoped, &id)
	if want := TenantNotFound("ten_b").Error(); err == nil || err.Error() != want {
		t.Errorf("another tenant: got %v, want the same answer as a missing tenant, %q", err, want)
	}
}

func TestVisible(t *testing.T) {
	scoped := licensor.WithTenant(context.Background(), "ten_a")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		id   string
		want bool
	}{
		{"Operator", context.Background(), "ten_b", true},
		{"Own", scoped, "ten_a", true},
		{"Other", scoped, "ten_b", false},
	} {
		if got := TenantVisible(tc.ctx, tc.id); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestList(t *testing.T) {
	scoped := licensor.WithTenant(context.Background(), "ten_a")
	tid, o, err := TenantList(scoped, licensor.ListOptions{})
	if err != nil || tid != "ten_a" || o.Limit <= 0 {
		t.Errorf("List: got %q, %+v, %v, want ten_a and a default limit", tid, o, err)
	}
	if _, _, err := TenantList(context.Background(), licensor.ListOptions{}); licensor.ErrorCode(err) != licensor.EINTERNAL {
		t.Errorf("List without a scope: got %v, want EINTERNAL", err)
	}
	if _, _, err := TenantList(scoped, licensor.ListOptions{Limit: -1}); licensor.ErrorCode(err) != licensor.EINVALID {
		t.Errorf("List with a negative limit: got %v, want EINVALID", err)
	}
}

func TestUnscoped(t *testing.T) {
	if !Unscoped(context.Background()) {
		t.Error("Unscoped without a scope: got false, want true")
	}
	if Unscoped(licensor.WithTenant(context.Background(), "ten_a")) {
		t.Error("Unscoped with a tenant scope: got true, want false")
	}
}
