package licensor

import "context"

// Role is what a token lets its bearer do.
type Role string

const (
	RoleOperator Role = "operator" // the whole server: creates tenants, acts on any tenant
	RoleAdmin    Role = "admin"    // one tenant's administrator
	RoleContract Role = "contract" // one contract's instances: licenses and capabilities only
)

// Actor is who is calling: resolved from the bearer token by the server and
// carried in the context to the service layer and the audit log.
type Actor struct {
	Role       Role
	TokenID    string
	TenantID   string // empty for the operator
	ContractID string // set for RoleContract
}

type actorKey struct{}
type tenantKey struct{}

// actorCtx and tenantCtx carry their value in one allocation, where
// context.WithValue takes two (the value boxed, then the context); both
// are made on every call. Value hands out a pointer, which boxes for free.
type actorCtx struct {
	context.Context
	a Actor
}

func (c *actorCtx) Value(key any) any {
	if key == (actorKey{}) {
		return &c.a
	}
	return c.Context.Value(key)
}

type tenantCtx struct {
	context.Context
	id string
}

func (c *tenantCtx) Value(key any) any {
	if key == (tenantKey{}) {
		return &c.id
	}
	return c.Context.Value(key)
}

// WithActor returns a context that carries a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return &actorCtx{Context: ctx, a: a}
}

// ActorFrom returns the actor carried by ctx.
func ActorFrom(ctx context.Context) (Actor, bool) {
	if a, ok := ctx.Value(actorKey{}).(*Actor); ok {
		return *a, true
	}
	return Actor{}, false
}

// WithTenant scopes ctx to one tenant. Every store method that reads or
// writes a tenant's data refuses to run without it: tenancy is never a default.
func WithTenant(ctx context.Context, tenantID string) context.Context {
	return &tenantCtx{Context: ctx, id: tenantID}
}

// TenantFrom returns the tenant ctx is scoped to.
func TenantFrom(ctx context.Context) (string, bool) {
	if id, ok := ctx.Value(tenantKey{}).(*string); ok {
		return *id, *id != ""
	}
	return "", false
}

// MustTenant returns the tenant ctx is scoped to, or an EINTERNAL error: a
// store call without a tenant is a programming error, never a default.
func MustTenant(ctx context.Context) (string, error) {
	id, ok := TenantFrom(ctx)
	if !ok {
		return "", &Error{Code: EINTERNAL, Message: "internal error", Err: errNoTenant}
	}
	return id, nil
}

var errNoTenant = errorString("store called without a tenant scope")

type errorString string

func (e errorString) Error() string { return string(e) }
