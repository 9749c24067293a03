package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

var (
	t0    = time.Date(2030, 1, 2, 3, 4, 5, 6789, time.UTC) // nanoseconds the stores drop
	clock = func() time.Time { return t0 }
	want0 = t0.Truncate(time.Microsecond)
)

func TestDefaults(t *testing.T) {
	ctx := licensor.WithTenant(context.Background(), "ten_a")
	given := time.Date(2031, 5, 6, 7, 8, 9, 1500, time.FixedZone("x", 3600))

	p := &licensor.Product{Name: "Solver"}
	if tid, err := NewProduct(ctx, p, clock); err != nil || tid != "ten_a" {
		t.Fatalf("Product: got %q, %v, want ten_a", tid, err)
	}
	if p.TenantID != "ten_a" || !strings.HasPrefix(p.ID, licensor.PrefixProduct+"_") || !p.CreatedAt.Equal(want0) {
		t.Errorf("Product: got %+v, want tenant ten_a, a new prd_ id and the clock's time", p)
	}

	c := &licensor.Contract{ID: "con_1", CreatedAt: given, StartsAt: given}
	if _, err := NewContract(ctx, c, clock); err != nil {
		t.Fatalf("Contract: %v", err)
	}
	if c.ID != "con_1" || c.CreatedAt != given.UTC().Truncate(time.Microsecond) || c.UpdatedAt != c.CreatedAt || c.StartsAt != c.CreatedAt {
		t.Errorf("Contract: got %+v, want its id kept, its times UTC to the microsecond and UpdatedAt = CreatedAt", c)
	}

	ten := &licensor.Tenant{}
	NewTenant(ten, clock)
	if !strings.HasPrefix(ten.ID, licensor.PrefixTenant+"_") || !ten.CreatedAt.Equal(want0) || !ten.UpdatedAt.Equal(want0) {
		t.Errorf("Tenant: got %+v, want a new id and the clock's time", ten)
	}

	a := &licensor.Alert{ClearedAt: given}
	if _, err := NewAlert(ctx, a, clock); err != nil {
		t.Fatalf("Alert: %v", err)
	}
	if !strings.HasPrefix(a.ID, licensor.PrefixEvent+"_") || !a.RaisedAt.Equal(want0) || !a.ClearedAt.IsZero() || string(a.Data) != `{}` {
		t.Errorf("Alert: got %+v, want a new evt_ id, raised now, not cleared, data {}", a)
	}
}

func TestRefusals(t *testing.T) {
	ctx := licensor.WithTenant(context.Background(), "ten_a")
	hash := []byte("h")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"OtherTenant", func() error { _, err := NewCustomer(ctx, &licensor.Customer{TenantID: "ten_b"}, clock); return err }(), licensor.ENOTFOUND},
		{"NoScope", func() error { _, err := NewWebhook(context.Background(), &licensor.Webhook{}, clock); return err }(), licensor.EINTERNAL},
		{"OperatorTokenWithTenant", func() error {
			_, err := NewToken(ctx, &licensor.Token{Role: licensor.RoleOperator, TenantID: "ten_a", Hash: hash}, clock)
			return err
		}(), licensor.EINVALID},
		{"OtherTenantsAudit", NewAuditEntry(ctx, &licensor.AuditEntry{TenantID: "ten_b"}, clock), licensor.ENOTFOUND},
	} {
		if got := licensor.ErrorCode(tc.err); got != tc.want {
			t.Errorf("%s: got %v, want code %s", tc.name, tc.err, tc.want)
		}
	}
	op := &licensor.Token{Role: licensor.RoleOperator, Hash: hash}
	if tid, err := NewToken(context.Background(), op, clock); err != nil || tid != "" || op.TenantID != "" {
		t.Errorf("operator token without a scope: got %q, %v, want no tenant and no error", tid, err)
	}
	if err := NewAuditEntry(context.Background(), &licensor.AuditEntry{TenantID: "ten_b"}, clock); err != nil {
		t.Errorf("operator's audit entry for a tenant: got %v, want none", err)
	}
}

func TestConstraints(t *testing.T) {
	p := &licensor.Product{TenantID: "ten_a", ID: "prd_1", Name: "Solver"}
	if got := ProductConstraints(p); got.PrimaryKey != "product prd_1 already exists" ||
		got.Unique != `a product named "Solver" already exists` || got.ForeignKey != "tenant ten_a not found" {
		t.Errorf("ProductConstraints: got %+v", got)
	}
	f := &licensor.Feature{ID: "fea_1", ProductID: "prd_1", Name: "gpu"}
	if got := FeatureConstraints(f); got.Unique != `product prd_1 already has a feature named "gpu"` || got.ForeignKey != "product prd_1 not found" {
		t.Errorf("FeatureConstraints: got %+v", got)
	}
	if got := TokenConstraints(&licensor.Token{ID: "tok_1"}); got.Unique != "a token with the same secret already exists" {
		t.Errorf("TokenConstraints: got %+v", got)
	}
}
