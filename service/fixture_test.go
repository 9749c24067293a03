package service

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/store/sqlite"
)

// fakeClock is the service's and the store's clock in these tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// heldStore lets a test hold one store read after it has read, so that the
// test can interleave an invalidation between a cache fill's read and its
// put, deterministically.
type heldStore struct {
	licensor.Store
	mu    sync.Mutex
	holds map[string]*hold
	// noneWaiting makes ReturnCapabilities report that no request waited,
	// as the PostgreSQL store does when it saw none.
	noneWaiting bool
}

type hold struct {
	read    chan struct{} // closed once the held call has read
	release chan struct{} // close to let it return
}

// holdNext holds the next call of method (once).
func (s *heldStore) holdNext(method string) *hold {
	h := &hold{read: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	if s.holds == nil {
		s.holds = map[string]*hold{}
	}
	s.holds[method] = h
	s.mu.Unlock()
	return h
}

func (s *heldStore) wait(method string) {
	s.mu.Lock()
	h := s.holds[method]
	delete(s.holds, method)
	s.mu.Unlock()
	if h != nil {
		close(h.read)
		<-h.release
	}
}

func (s *heldStore) GetTenant(ctx context.Context, id string) (*licensor.Tenant, error) {
	t, err := s.Store.GetTenant(ctx, id)
	s.wait("GetTenant")
	return t, err
}

func (s *heldStore) ReturnCapabilities(ctx context.Context, r licensor.LeaseReturn) (*licensor.Lease, bool, error) {
	left, waiting, err := s.Store.ReturnCapabilities(ctx, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	return left, waiting && !s.noneWaiting, err
}

func (s *heldStore) ListSigningKeys(ctx context.Context) ([]*licensor.SigningKey, error) {
	ks, err := s.Store.ListSigningKeys(ctx)
	s.wait("ListSigningKeys")
	return ks, err
}

// fixture is a service on real SQLite in a temp dir with a fake clock, and
// a tenant with a product (counted "solver", boolean "export") and a
// customer, made through the service as its operator and admin would.
type fixture struct {
	t        *testing.T
	clock    *fakeClock
	store    *heldStore
	svc      *Service
	op       context.Context // the operator
	admin    context.Context // the tenant's admin
	tenantID string
	product  string
	customer string
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &fakeClock{t: start}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "licensor.db"), sqlite.WithClock(clk.Now))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	sealer, err := signing.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	st := &heldStore{Store: db}
	f := &fixture{t: t, clock: clk, store: st, svc: New(Config{Store: st, Sealer: sealer, Now: clk.Now})}
	f.op = licensor.WithActor(ctx, licensor.Actor{Role: licensor.RoleOperator})
	ten, secret, err := f.svc.CreateTenant(f.op, licensor.Tenant{Name: "Acme"}, true)
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	f.tenantID = ten.ID
	f.admin = f.login(secret)
	p, err := f.svc.CreateProduct(f.admin, "", licensor.Product{Name: "Solver"})
	if err != nil {
		t.Fatalf("CreateProduct: %v", err)
	}
	f.product = p.ID
	for _, ft := range []licensor.Feature{{Name: "solver", Kind: licensor.FeatureCounted}, {Name: "export", Kind: licensor.FeatureBoolean}} {
		ft.ProductID = p.ID
		if _, err := f.svc.CreateFeature(f.admin, "", ft); err != nil {
			t.Fatalf("CreateFeature %s: %v", ft.Name, err)
		}
	}
	c, err := f.svc.CreateCustomer(f.admin, "", licensor.Customer{Name: "Globex", Email: "ops@globex.example"})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	f.customer = c.ID
	return f
}

// login authenticates a token secret and returns a context acting as it.
func (f *fixture) login(secret string) context.Context {
	f.t.Helper()
	a, err := f.svc.Authenticate(context.Background(), secret)
	if err != nil {
		f.t.Fatalf("Authenticate: %v", err)
	}
	return licensor.WithActor(context.Background(), a)
}

// contract creates a contract for the fixture's customer and product (solver=10
// and export unless c names features) and returns it with a context acting
// as its contract token.
func (f *fixture) contract(c licensor.Contract) (*licensor.Contract, context.Context) {
	f.t.Helper()
	c.CustomerID, c.ProductID = f.customer, f.product
	if c.Features == nil {
		c.Features = []licensor.Entitlement{{Feature: "solver", Count: 10}, {Feature: "export"}}
	}
	got, err := f.svc.CreateContract(f.admin, "", c)
	if err != nil {
		f.t.Fatalf("CreateContract: %v", err)
	}
	_, secret, err := f.svc.CreateToken(f.admin, "", licensor.Token{Role: licensor.RoleContract, ContractID: got.ID, Name: "fleet"})
	if err != nil {
		f.t.Fatalf("CreateToken: %v", err)
	}
	return got, f.login(secret)
}

// tenantCtx is ctx scoped to the fixture's tenant, for internal calls.
func (f *fixture) tenantCtx() context.Context {
	return licensor.WithTenant(context.Background(), f.tenantID)
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := licensor.ErrorCode(err); got != code {
		t.Fatalf("%s: got code %q (%v), want %q", what, got, err, code)
	}
}
