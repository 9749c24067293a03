package licensor

import (
	"context"
	"testing"
)

type otherKey struct{}

// The actor and the tenant come back as put, the innermost of each wins,
// other values and cancellation pass through, and an empty tenant is no
// tenant.
func TestContextValues(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "v"))
	a := Actor{Role: RoleContract, TokenID: "tok_1", TenantID: "ten_1", ContractID: "con_1"}
	ctx := WithTenant(WithActor(WithTenant(parent, "ten_0"), a), "ten_1")
	for _, c := range []struct {
		name   string
		ctx    context.Context
		actor  Actor
		hasA   bool
		tenant string
		hasT   bool
	}{
		{"Neither", context.Background(), Actor{}, false, "", false},
		{"Both", ctx, a, true, "ten_1", true},
		{"ActorOnly", WithActor(context.Background(), a), a, true, "", false},
		{"EmptyTenant", WithTenant(context.Background(), ""), Actor{}, false, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, ok := ActorFrom(c.ctx); got != c.actor || ok != c.hasA {
				t.Errorf("ActorFrom: got %+v, %v, want %+v, %v", got, ok, c.actor, c.hasA)
			}
			if got, ok := TenantFrom(c.ctx); got != c.tenant || ok != c.hasT {
				t.Errorf("TenantFrom: got %q, %v, want %q, %v", got, ok, c.tenant, c.hasT)
			}
		})
	}
	if got := ctx.Value(otherKey{}); got != "v" {
		t.Errorf("another value: got %v, want v", got)
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	cancel()
	<-child.Done()
	if ctx.Err() != context.Canceled || child.Err() != context.Canceled {
		t.Errorf("after cancel: got %v and %v, want both canceled", ctx.Err(), child.Err())
	}
}
