package licensor

import (
	"context"
	"time"
)

// Store is the persistence port. Implementations: store/sqlite (embedded,
// default) and store/postgres (shared by several servers). Both pass the
// conformance suite in store/storetest.
//
// Every method that touches a tenant's data takes the tenant from ctx
// (WithTenant) and fails with EINTERNAL without it; an object of another
// tenant is ENOTFOUND, exactly as if it did not exist. Driver errors are
// translated: a unique violation is ECONFLICT, a missing row ENOTFOUND.
type Store interface {
	TenantStore
	CatalogStore
	ContractStore
	TokenStore
	KeyStore
	InstanceStore
	TelemetryStore
	AuditStore
	AlertStore
	WebhookStore
	CapabilityStore
	ConsoleStore
	PortalLinkStore
	OfflineStore

	// Ping checks that the store is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// TenantStore keeps tenants. These methods are operator-level and need no
// tenant scope, except that GetTenant and UpdateTenant accept one.
type TenantStore interface {
	// CreateTenant stores t. ECONFLICT if the id exists.
	CreateTenant(ctx context.Context, t *Tenant) error
	// GetTenant returns a tenant. ENOTFOUND.
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// ListTenants lists tenants by id.
	ListTenants(ctx context.Context, opts ListOptions) ([]*Tenant, error)
	// UpdateTenant replaces the mutable fields of t. ENOTFOUND.
	UpdateTenant(ctx context.Context, t *Tenant) error
}

// CatalogStore keeps products, features and customers (tenant-scoped).
type CatalogStore interface {
	// CreateProduct stores p. ECONFLICT on a duplicate name.
	CreateProduct(ctx context.Context, p *Product) error
	// GetProduct returns a product of the scoped tenant. ENOTFOUND.
	GetProduct(ctx context.Context, id string) (*Product, error)
	ListProducts(ctx context.Context, opts ListOptions) ([]*Product, error)
	// CreateFeature stores f. ENOTFOUND for an unknown product, ECONFLICT on
	// a duplicate name within the product.
	CreateFeature(ctx context.Context, f *Feature) error
	// ListFeatures returns all features of a product. ENOTFOUND for an
	// unknown product.
	ListFeatures(ctx context.Context, productID string) ([]*Feature, error)

	// CreateCustomer stores c.
	CreateCustomer(ctx context.Context, c *Customer) error
	// GetCustomer returns a customer. ENOTFOUND.
	GetCustomer(ctx context.Context, id string) (*Customer, error)
	ListCustomers(ctx context.Context, opts ListOptions) ([]*Customer, error)

	// UpdateProduct renames p. ENOTFOUND; ECONFLICT on a duplicate name.
	UpdateProduct(ctx context.Context, p *Product) error
	// DeleteProduct deletes a product and its features. EPRECONDITION
	// while a contract is for it (the message says which); ENOTFOUND.
	DeleteProduct(ctx context.Context, id string) error
	// GetFeature returns a feature. ENOTFOUND.
	GetFeature(ctx context.Context, id string) (*Feature, error)
	// UpdateFeature replaces f's description (its name and kind are what
	// contracts grant, and stay); f gets the stored rest back. ENOTFOUND.
	UpdateFeature(ctx context.Context, f *Feature) error
	// DeleteFeature deletes a feature. EPRECONDITION while a contract for
	// its product grants it; ENOTFOUND.
	DeleteFeature(ctx context.Context, id string) error
	// UpdateCustomer replaces c's name, email and metadata. ENOTFOUND.
	UpdateCustomer(ctx context.Context, c *Customer) error
	// DeleteCustomer deletes a customer and its portal links.
	// EPRECONDITION while a contract or a pool is the customer's (the
	// message says which); ENOTFOUND.
	DeleteCustomer(ctx context.Context, id string) error
}

// ContractFilter selects contracts of a tenant.
type ContractFilter struct {
	CustomerID string
	// Status, if set, selects the contracts whose StatusAt(Now) is Status
	// (any of ContractStatuses): the filter agrees with what is shown.
	Status ContractStatus
	// Now is the time Status is judged at; zero means the store's clock.
	Now time.Time
	ListOptions
}

// ContractStore keeps contracts (tenant-scoped).
type ContractStore interface {
	// CreateContract stores c with Version 1. ENOTFOUND for an unknown
	// customer or product.
	CreateContract(ctx context.Context, c *Contract) error
	// GetContract returns a contract with its features. ENOTFOUND.
	GetContract(ctx context.Context, id string) (*Contract, error)
	ListContracts(ctx context.Context, f ContractFilter) ([]*Contract, error)
	// UpdateContract replaces the mutable fields and features of c if its
	// stored Version is still c.Version, and increments Version (also in c).
	// ECONFLICT if another change won the race; ENOTFOUND.
	UpdateContract(ctx context.Context, c *Contract) error
}

// TokenStore keeps bearer tokens as hashes.
type TokenStore interface {
	// CreateToken stores t (tenant-scoped unless t.Role is RoleOperator).
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash finds a token by the hash of its secret, in any tenant:
	// it is how a request is authenticated, before any scope exists.
	// ENOTFOUND.
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	ListTokens(ctx context.Context, f TokenFilter) ([]*Token, error)
	// GetToken returns a token of the scoped tenant by id. ENOTFOUND (also
	// for another tenant's token or an operator token).
	GetToken(ctx context.Context, id string) (*Token, error)
	// RevokeToken marks a token of the scoped tenant revoked at at.
	// ENOTFOUND; revoking twice keeps the first time.
	RevokeToken(ctx context.Context, id string, at time.Time) (*Token, error)
	// HasOperatorToken reports whether any live operator token exists.
	HasOperatorToken(ctx context.Context) (bool, error)

	// Operator tokens belong to no tenant: the methods below need no scope,
	// and inside a tenant's scope operator tokens do not exist (a scope
	// never widens what a caller sees), just as the tenant-scoped methods
	// above never see them.

	// ListOperatorTokens lists operator tokens by id, as ListTokens does a
	// tenant's: live ones only unless f.IncludeRevoked. With a tenant
	// scope it lists none.
	ListOperatorTokens(ctx context.Context, f TokenFilter) ([]*Token, error)
	// GetOperatorToken returns an operator token by id. ENOTFOUND (also for
	// a tenant's token, and within a tenant scope).
	GetOperatorToken(ctx context.Context, id string) (*Token, error)
	// RevokeOperatorToken marks an operator token revoked at at, unless it
	// is live at at and no other operator token is: EPRECONDITION then,
	// with nothing changed, so that the server is never left without an
	// operator. The check and the change are one transaction: revocations
	// racing each other cannot leave none. ENOTFOUND as GetOperatorToken;
	// revoking twice keeps the first time.
	RevokeOperatorToken(ctx context.Context, id string, at time.Time) (*Token, error)
}

// KeyStore keeps tenants' signing keys (tenant-scoped).
type KeyStore interface {
	// CreateSigningKey stores k as the tenant's active key and retires the
	// previous active key at k.CreatedAt with PublishUntil raised to
	// retiredPublishUntil, in one transaction.
	CreateSigningKey(ctx context.Context, k *SigningKey, retiredPublishUntil time.Time) error
	// ListSigningKeys returns every key of the tenant, newest first.
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	// ExtendKeyPublication raises a key's PublishUntil to at least until
	// (for static license files that outlive the usual validity).
	ExtendKeyPublication(ctx context.Context, keyID string, until time.Time) error
}

// InstanceStore keeps instances (tenant-scoped).
type InstanceStore interface {
	// Checkin records a license issued to an instance. A new instance that
	// takes a seat does so only if the contract has one free, decided in the
	// same transaction (EEXHAUSTED otherwise, with nothing changed); an
	// existing instance is refreshed and keeps its seat.
	Checkin(ctx context.Context, c Checkin) (*Instance, error)
	// GetInstance returns one instance. ENOTFOUND.
	GetInstance(ctx context.Context, contractID, instanceID string) (*Instance, error)
	ListInstances(ctx context.Context, f InstanceFilter) ([]*Instance, error)
	// ReleaseSeat frees the seat or the non-production slot an instance
	// holds (after a domain move or a decommission); the instance's next
	// check-in competes for one again. ENOTFOUND.
	ReleaseSeat(ctx context.Context, contractID, instanceID string) error
	// FlagClone sets an instance's CloneSuspectedAt to at (a check-in from
	// another machine that was refused, so that it is still alerted on).
	// ENOTFOUND.
	FlagClone(ctx context.Context, contractID, instanceID string, at time.Time) error
}

// AuditStore keeps the append-only audit log.
type AuditStore interface {
	// AppendAudit stores e (in e.TenantID, or the operator's log if empty).
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns entries of the scoped tenant, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
	// ListOperatorAudit returns the operator's log (entries of no tenant)
	// as ListAudit does a tenant's. It needs no scope; with one it lists
	// none.
	ListOperatorAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
}
